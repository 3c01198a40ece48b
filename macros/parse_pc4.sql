{#-
    The PC4 (the four digits) of a Dutch postcode as an integer, or NULL when the text is not a
    postcode. Accepts any spacing and case, with or without the two letters, a hyphen between
    them and an "NL" prefix: '5038 AB', '5038ab', ' 5038 ', '5038-AB', 'NL-5038 AB', '5038'.
    Refuses (NULL) a leading zero ('0123 AB'), other lengths ('123', '12345'), letters only,
    one or three letters, empty text and NULL. Pure syntax: whether the PC4 exists is decided
    by the join to the region_pc4_ranges seed.
    Speed (it runs once per lead on a full rebuild): a match test without capture groups, then
    the digits kept by a double translate (the pattern allows no other digit), about a third of
    the cost of `substring(... from <pattern with a group>)` (BENCHMARKS.md).
-#}
{% macro parse_pc4(postcode) -%}
    case
        when {{ postcode }} ~ '^[[:space:]]*(?:[Nn][Ll][[:space:]]*-?[[:space:]]*)?[1-9][0-9]{3}[[:space:]]*-?[[:space:]]*(?:[A-Za-z]{2})?[[:space:]]*$'
            then translate({{ postcode }}, translate({{ postcode }}, '0123456789', ''), '')::integer
    end
{%- endmacro %}
