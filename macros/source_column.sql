-- noqa: disable=LT02
{#-
    One column of the source contract (models/staging/public/_public__sources.yml, column meta),
    read from the platform whatever its exact shape:
    - the physical column is the one the column's `var` names (default: the contract's name);
    - it is cast to the contract's `cast` type (a bigint industry id becomes text, an enum status
      text); comma-separated text becomes text[] where the contract wants text[];
    - an optional column the platform lacks is NULL of that type, never an error.
    The platform's columns are read from the catalog when the model compiles. A unit test (no graph:
    its input is a `format: sql` fixture with the contract's names and types) selects the column as
    is. Whether a type is acceptable is `leadgen check`'s job; here a missing required column fails
    in the database, naming it.
-#}
{% macro source_column(table_name, column_name) -%}
    {%- if not execute or not graph.get('sources') -%}
        {{ return(column_name) }}
    {%- endif -%}
    {%- set spec = source_contract_column(table_name, column_name) -%}
    {%- set physical = var(spec.var, column_name) if spec.var else column_name -%}
    {%- set live_types = source_column_types(table_name) -%}
    {%- set quoted = adapter.quote(physical) if physical != physical | lower else physical -%}
    {%- if live_types and physical not in live_types -%}
        {%- if spec.contract == 'optional' -%}
            cast(null as {{ spec.cast }})
        {%- else -%}
            {{ quoted }}
        {%- endif -%}
    {%- elif spec.cast == 'text[]' and live_types.get(physical) in ('text', 'character varying') -%}
        string_to_array({{ quoted }}, ',')
    {%- else -%}
        cast({{ quoted }} as {{ spec.cast }})
    {%- endif -%}
{%- endmacro %}

{#- The contract entry (column meta) of a source column; a compiler error when there is none. -#}
{% macro source_contract_column(table_name, column_name) -%}
    {%- set node = graph.sources.get('source.' ~ project_name ~ '.public.' ~ table_name) -%}
    {%- set column = (node.columns if node else {}).get(column_name) -%}
    {%- set meta = column.meta if column else {} -%}
    {%- if not meta.get('cast') -%}
        {{ exceptions.raise_compiler_error(
            "public." ~ table_name ~ "." ~ column_name ~ " is not in the source contract "
            ~ "(models/staging/public/_public__sources.yml: columns meta contract/types/cast)"
        ) }}
    {%- endif -%}
    {{ return(meta) }}
{%- endmacro %}

{#- {column name: format_type} of a table or materialized view of the source; {} when absent. -#}
{% macro source_column_types(table_name) -%}
    {%- set node = graph.sources.get('source.' ~ project_name ~ '.public.' ~ table_name) -%}
    {%- set sql -%}
        select a.attname::text, format_type(a.atttypid, a.atttypmod)
        from pg_catalog.pg_attribute as a
        inner join pg_catalog.pg_class as c on a.attrelid = c.oid
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
        where
            n.nspname = '{{ node.schema }}'
            and c.relname = '{{ node.identifier }}'
            and a.attnum > 0
            and not a.attisdropped
    {%- endset -%}
    {%- set rows = run_query(sql).rows -%}
    {%- set found = {} -%}
    {%- for row in rows -%}
        {%- do found.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}
