{#-
    The Amsterdam days a repair run of lead_generation_stats recounts: vars stats_start_date /
    stats_end_date (ISO dates, inclusive; either may be omitted: the first lead day / today), as
    {'start': ..., 'end': ...}; none when neither is set (a normal run follows the changes).
-#}
{% macro lead_stats_range() -%}
    {%- set start_var = var('stats_start_date', '') | string | trim -%}
    {%- set end_var = var('stats_end_date', '') | string | trim -%}
    {%- if start_var in ('', 'None') and end_var in ('', 'None') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set start_date = start_var if start_var not in ('', 'None') else '0001-01-01' -%}
    {%- set end_date = end_var if end_var not in ('', 'None') else '9999-12-31' -%}
    {%- if start_date > end_date -%}
        {{ exceptions.raise_compiler_error(
            "lead_generation_stats: stats_start_date " ~ start_date ~ " is after stats_end_date " ~ end_date
        ) }}
    {%- endif -%}
    {{ return({'start': start_date, 'end': end_date}) }}
{%- endmacro %}

{#- Post-hook of lead_generation_stats: drop the rows outside each segment's days
    (int_segment_stats_bounds): deleted segments, days before a segment's first lead day now,
    days after the last lead day of a deactivated segment. -#}
{% macro lead_stats_trim() -%}
    delete from {{ this }} as built
    where not exists (
        select from {{ ref('int_segment_stats_bounds') }} as bounds
        where bounds.segment_id = built.segment_id and built.date between bounds.first_date and bounds.last_date
    )
{%- endmacro %}
