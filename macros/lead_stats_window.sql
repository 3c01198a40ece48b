{#-
    The Amsterdam days lead_generation_stats (re)builds, as {'start': 'YYYY-MM-DD', 'end': ...},
    inclusive, decided when the model runs:
    - vars stats_start_date / stats_end_date when given (either may be omitted: the other
      bound is the first lead day / today);
    - an incremental run: from (newest built day - stats_lookback_days) to today;
    - a first or full-refresh run: from the first lead's day to today.
    All days are in var('timezone'); the model turns them into timestamptz bounds on
    leads.created_at, so the scan is an index range scan over these days only.
-#}
{% macro lead_stats_window() -%}
    {%- set tz = var('timezone') -%}
    {%- if not execute -%}
        {{ return({'start': '2000-01-01', 'end': '2000-01-01'}) }}
    {%- endif -%}
    {%- set today = run_query("select (now() at time zone '" ~ tz ~ "')::date::text").columns[0].values()[0] -%}
    {%- set start_var = var('stats_start_date', '') | string | trim -%}
    {%- set end_var = var('stats_end_date', '') | string | trim -%}
    {%- set end_date = end_var if end_var not in ('', 'None') else today -%}
    {%- if start_var not in ('', 'None') -%}
        {%- set start_date = start_var -%}
    {%- elif is_incremental() -%}
        {%- set sql -%}
            select (coalesce(max(date), '{{ today }}'::date) - {{ var('stats_lookback_days') | int }})::text
            from {{ this }}
        {%- endset -%}
        {%- set start_date = run_query(sql).columns[0].values()[0] -%}
    {%- else -%}
        {%- set sql -%}
            select coalesce(
                (min(created_at) at time zone '{{ tz }}')::date, '{{ today }}'::date
            )::text
            from {{ source('public', 'leads') }}
            where created_at >= '{{ var("lead_created_at_min") }}'::timestamptz
        {%- endset -%}
        {%- set start_date = run_query(sql).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if start_date > end_date -%}
        {{ exceptions.raise_compiler_error(
            "lead_generation_stats: stats_start_date " ~ start_date ~ " is after stats_end_date " ~ end_date
        ) }}
    {%- endif -%}
    {{ return({'start': start_date, 'end': end_date}) }}
{%- endmacro %}

{#- The pre-hook of lead_generation_stats: an incremental run first deletes its window. -#}
{% macro lead_stats_delete_window() -%}
    {%- if is_incremental() -%}
        {%- set window = lead_stats_window() -%}
        delete from {{ this }}
        where date between '{{ window.start }}'::date and '{{ window.end }}'::date
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
