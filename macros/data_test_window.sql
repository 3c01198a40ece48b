{#-
    The data tests of the history-sized tables (lead_segment_assignments, the leads' keys and the
    invariants that recount them) check the leads created in the last
    var('data_test_lookback_days') Amsterdam days. Their cost then follows the recent days, not
    the history.
    0 (or empty) checks the whole history:
        dbt build --vars '{data_test_lookback_days: 0}'
    data_test_window_start(): the first instant of the window (timestamptz);
    data_test_window_start_date(): its Amsterdam day (date).
    In a test's `where` config, __data_test_window_start__ stands for data_test_window_start()
    (get_where_subquery below).
-#}
{% macro data_test_lookback_days() -%}
    {%- set days = var('data_test_lookback_days', 0) | string | trim -%}
    {{- return(0 if days in ('', 'None', 'none') else days | int) -}}
{%- endmacro %}

{% macro data_test_window_start_date() -%}
    {%- if data_test_lookback_days() == 0 -%}
        '-infinity'::date
    {%- else -%}
        ((now() at time zone '{{ var("timezone") }}')::date - {{ data_test_lookback_days() }})
    {%- endif -%}
{%- endmacro %}

{% macro data_test_window_start() -%}
    {%- if data_test_lookback_days() == 0 -%}
        '-infinity'::timestamptz
    {%- else -%}
        ({{ data_test_window_start_date() }}::timestamp at time zone '{{ var("timezone") }}')
    {%- endif -%}
{%- endmacro %}

{#- dbt's get_where_subquery (how a data test applies its `where` config), plus the placeholder
    __data_test_window_start__. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set where = where | replace('__data_test_window_start__', data_test_window_start()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) as dbt_subquery
        {%- endset -%}
        {{- return(filtered) -}}
    {%- else -%}
        {{- return(relation) -}}
    {%- endif -%}
{%- endmacro %}
