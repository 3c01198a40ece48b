{#-
    The PC4 (the four digits) of a Dutch postcode as an integer, or NULL when the text is not a
    postcode. Accepts any spacing and case, with or without the two letters, a hyphen between
    them and an "NL" prefix: '5038 AB', '5038ab', ' 5038 ', '5038-AB', 'NL-5038 AB', '5038'.
    White space is any Unicode white space or zero-width character (macro unicode_space_chars),
    spelt out rather than [[:space:]], whose meaning follows the server's locale. Refuses (NULL)
    a leading zero ('0123 AB'), other lengths ('123', '12345'), letters only, one or three
    letters, empty text and NULL. Pure syntax: whether the PC4 exists is decided by the join to
    the region_pc4_ranges seed.
    Speed (it runs once per lead on a full rebuild): a match test without capture groups, then the
    four digits cut out: once the text matched, the first digit is the PC4's (strpos of the
    first of [1-9] is not needed: nothing before the PC4 can be a digit), so the PC4 is the four
    characters from the first digit on.
-#}
{% macro parse_pc4(postcode) -%}
    {%- set ws = '[' ~ unicode_space_chars() ~ ']*' -%}
    case
        when {{ postcode }} ~ '^{{ ws }}(?:[Nn][Ll]{{ ws }}-?{{ ws }})?[1-9][0-9]{3}{{ ws }}-?{{ ws }}(?:[A-Za-z]{2})?{{ ws }}$'
            then substr({{ postcode }}, strpos(translate({{ postcode }}, '23456789', '11111111'), '1'), 4)::integer
    end
{%- endmacro %}
