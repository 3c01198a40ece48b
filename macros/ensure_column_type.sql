{#-
    Pre-hook of an incremental model: give an existing table's `column` the contract's
    `data_type` (e.g. 'numeric(20,4)', 'text') when it has another one, such as the unconstrained
    `numeric` of tables built before the contract typed it, or the uuid industry id of tables built
    before the source contract made every key type text. Without it `on_schema_change: fail` would stop the next run on the type
    difference, and a history table (capacity captures) cannot be rebuilt. A no-op once aligned,
    and on a first build (the table does not exist yet).
-#}
{% macro ensure_column_type(relation, column, data_type) -%}
    do $ensure_column_type$
    begin
        if exists (
            select 1
            from pg_catalog.pg_attribute
            where
                attrelid = to_regclass('{{ relation }}')
                and attname = '{{ column }}'
                and format_type(atttypid, atttypmod) <> replace('{{ data_type }}', ' ', '')
                and not attisdropped
        ) then
            alter table {{ relation }} alter column {{ column }} type {{ data_type }}
                using {{ column }}::{{ data_type }};
        end if;
    end
    $ensure_column_type$
{%- endmacro %}
