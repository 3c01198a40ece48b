{#-
    The PC4 (the four digits) of a Dutch postcode as an integer, or NULL when the text is not a
    postcode. Accepts any spacing and case, with or without the two letters, a hyphen between
    them and an "NL" prefix: '5038 AB', '5038ab', ' 5038 ', '5038-AB', 'NL-5038 AB', '5038'.
    White space is ASCII white space (space, tab, CR, LF, FF, VT), spelt out rather than
    [[:space:]], whose meaning follows the server's locale. Refuses (NULL) a leading zero
    ('0123 AB'), other lengths ('123', '12345'), letters only, one or three letters, other
    white space (U+2000), empty text and NULL. Pure syntax: whether the PC4 exists is decided
    by the join to the region_pc4_ranges seed.
    Speed (it runs once per lead on a full rebuild): a match test without capture groups, then
    the four digits cut out with plain string functions: once the text matched, what precedes the
    digits can only be ASCII white space, N, L and a hyphen, which ltrim drops, and the PC4 is the
    next four characters. About a quarter less than keeping the digits by a double translate,
    itself a third of the cost of `substring(... from <pattern with a group>)` (BENCHMARKS.md).
-#}
{% macro parse_pc4(postcode) -%}
    case
        when {{ postcode }} ~ '^[ \t\n\r\f\v]*(?:[Nn][Ll][ \t\n\r\f\v]*-?[ \t\n\r\f\v]*)?[1-9][0-9]{3}[ \t\n\r\f\v]*-?[ \t\n\r\f\v]*(?:[A-Za-z]{2})?[ \t\n\r\f\v]*$'
            then left(ltrim({{ postcode }}, e' \t\n\r\f\vNnLl-'), 4)::integer
    end
{%- endmacro %}
