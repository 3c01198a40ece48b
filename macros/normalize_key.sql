{#-
    The ONE matching rule for names (regions, branches, aliases): lower-case, trim, fold
    diacritics, and drop spaces, dots, hyphens, underscores and apostrophes.
    'Noord-Brabant', ' noord brabant ', 'N.Brabant' -> 'noordbrabant' / 'nbrabant'.
    NULL stays NULL; a key that ends up empty becomes NULL.
-#}
{% macro normalize_key(expr) -%}
    nullif(
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
{%- endmacro %}
