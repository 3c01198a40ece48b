{% macro reporting_date() -%}
    {#-
        The calendar day the planning marts report "as of": today in var timezone
        (Europe/Amsterdam), or var as_of_date ('YYYY-MM-DD') for a reproducible run or a
        unit test. Empty or unset: today.
    -#}
    {%- set as_of = var('as_of_date', none) -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as date)
    {%- else -%}
        cast(now() at time zone '{{ var("timezone") }}' as date)
    {%- endif -%}
{%- endmacro %}
