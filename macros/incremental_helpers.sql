{#-
    Helpers of the incremental history models (lead_segment_assignments, its change log and
    lead_generation_stats).

    watermark_literal(sql): the single value `sql` selects, quoted as a literal ('-infinity'
    when NULL; `override_var`, when set, gives it instead, e.g. in unit tests). A literal rather
    than a subquery, so the planner sees how few rows are newer than
    it and takes the index range scan.
-#}
{% macro watermark_literal(sql, override_var=none) -%}
    {%- set value = var(override_var, none) if override_var else none -%}
    {%- if value is none and execute -%}
        {%- set value = run_query(sql).columns[0].values()[0] -%}
    {%- endif -%}
    {{- return("'" ~ (value if value is not none else '-infinity') ~ "'") -}}
{%- endmacro %}

{#-
    empty_from_contract(): a relation with this model's contract columns and no row: what a first
    or full-refresh run reads where an incremental run reads {{ this }}.
-#}
{% macro empty_from_contract() -%}
    select
    {%- for column in model.columns.values() %}
        null::{{ column.data_type }} as {{ column.name }}{{ ',' if not loop.last }}
    {%- endfor %}
    where false
{%- endmacro %}

{#-
    distinct_values(relation, column): the distinct non-NULL values of an indexed column as a
    subquery, read by a loose index scan (one index probe per value), not by reading the table.
-#}
{% macro distinct_values(relation, column) -%}
    with recursive found (value) as (
        (select {{ column }} from {{ relation }} where {{ column }} is not null order by {{ column }} limit 1)
        union all
        select (
            select next_row.{{ column }} from {{ relation }} as next_row
            where next_row.{{ column }} > found.value
            order by next_row.{{ column }} limit 1
        )
        from found
        where found.value is not null
    )

    select value as {{ column }} from found where value is not null
{%- endmacro %}
