{#-
    The ONE matching rule for names (regions, branches, aliases): fold case and every accent, and
    drop white space, dots, hyphens, underscores and apostrophes.
    'Noord-Brabant', ' noord brabant ', 'N.Brabant' -> 'noordbrabant' / 'nbrabant';
    'Limbŭrg', 'Zeelańd', 'Frīesland' -> 'limburg', 'zeeland', 'friesland'.
    Unicode-proof and locale-independent, so tests and production agree whatever the database's
    locale: accents are removed by NFKD decomposition and dropping the combining marks (not a
    fixed list of letters), case is folded after that (plain ASCII letters by then, which lower()
    folds in a C database too), and white space is spelt out (macro unicode_space_chars: every
    Unicode space and the zero-width characters), never [[:space:]], whose meaning follows the
    locale. NULL stays NULL; a key that ends up empty becomes NULL.
    Speed (it runs once per lead on a full rebuild): plain ASCII text (octet length = character
    length) takes one short translate, which drops exactly what the general path drops from
    ASCII; other text takes the general path (BENCHMARKS.md).
-#}
{% macro normalize_key(expr) -%}
    case
        when octet_length({{ expr }}) = char_length({{ expr }})
            then nullif(translate(lower({{ expr }}), e' \t\n\r\f\v._''`-', ''), '')
        else nullif(
            regexp_replace(
                lower(
                    translate(
                        regexp_replace(
                            normalize({{ expr }}, nfkd),
                            '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]',
                            '',
                            'g'
                        ),
                        'ßøØłŁđĐıİ',
                        'soOlLdDiI'
                    )
                ),
                '[{{ unicode_space_chars() }}._''’`\u2010-\u2015-]',
                '',
                'g'
            ),
            ''
        )
    end
{%- endmacro %}

{#-
    The characters normalize_key and parse_pc4 treat as white space, as regex escapes for a
    bracket expression: ASCII white space, NBSP, the Unicode spaces (U+2000-U+200A, thin, narrow
    and ideographic ones, line and paragraph separators) and the zero-width characters.
-#}
{% macro unicode_space_chars() -%}
    \t\n\r\f\v \u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff
{%- endmacro %}
