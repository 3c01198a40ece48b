{#-
    The ONE matching rule for names (regions, branches, aliases): lower-case, trim, fold
    diacritics, and drop spaces, dots, hyphens, underscores and apostrophes.
    'Noord-Brabant', ' noord brabant ', 'N.Brabant' -> 'noordbrabant' / 'nbrabant'.
    NULL stays NULL; a key that ends up empty becomes NULL.
    Speed (it runs once per lead on a full rebuild): plain ASCII text (octet length = character
    length) takes one short translate, which drops exactly what the general path drops from
    ASCII ([[:space:]] is space, tab, newline, carriage return, form feed, vertical tab); other
    text takes the general path (diacritics, the typographic apostrophe). About a fifth of the
    general path's cost on ASCII (BENCHMARKS.md).
-#}
{% macro normalize_key(expr) -%}
    case
        when octet_length({{ expr }}) = char_length({{ expr }})
            then nullif(translate(lower(trim({{ expr }})), e' \t\n\r\f\v._''`-', ''), '')
        else nullif(
            regexp_replace(
                translate(
                    lower(trim({{ expr }})),
                    'àáâãäåèéêëìíîïòóôõöùúûüýÿñçßÀÁÂÃÄÅÈÉÊËÌÍÎÏÒÓÔÕÖÙÚÛÜÝÑÇ',
                    'aaaaaaeeeeiiiiooooouuuuyyncsaaaaaaeeeeiiiiooooouuuuync'
                ),
                '[[:space:]._''’`-]',
                '',
                'g'
            ),
            ''
        )
    end
{%- endmacro %}
