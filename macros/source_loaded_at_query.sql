{#-
    The loaded_at_query of a source whose freshness timestamp is an optional column of the source
    contract (models/staging/public/_public__sources.yml, column meta; the platform may call it
    otherwise through the column's var): the newest value of that column when the platform has it,
    else now(). Without the column there is no refresh time to judge, and the check must not break
    such a platform: the source reads as fresh, and `leadgen check` notes the column is absent.
    Rendered when `dbt source freshness` runs (`this` is the source relation).
-#}
{% macro source_loaded_at_query(table_name, column_name) -%}
    {%- set spec = source_contract_column(table_name, column_name) -%}
    {%- set physical = var(spec.var, column_name) if spec.var else column_name -%}
    {%- if physical in source_column_types(table_name) -%}
        select max({{ adapter.quote(physical) if physical != physical | lower else physical }}) from {{ this }}
    {%- else -%}
        select now()
    {%- endif -%}
{%- endmacro %}
