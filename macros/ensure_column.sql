{#-
    Pre-hook of an incremental model: give an existing table the contract's `column` with its
    `data_type` (as format_type() prints it, e.g. 'numeric(20,4)', 'text', 'timestamp with time
    zone'). A column the model gained since the table was built is added (the history tables are
    never rebuilt to change their shape); a column of another type is converted, such as the
    unconstrained `numeric` of tables built before the contract typed it, or the uuid industry id
    of tables built before the source contract made every key type text. Without it
    `on_schema_change: fail` would stop the next run. A catalog read and nothing else once aligned
    (no lock on the table), and on a first build (the table does not exist yet).
-#}
{% macro ensure_column(relation, column, data_type) -%}
    do $ensure_column$
    declare
        current_type text;
    begin
        if to_regclass('{{ relation }}') is null then
            return;
        end if;
        select format_type(atttypid, atttypmod) into current_type
        from pg_catalog.pg_attribute
        where attrelid = to_regclass('{{ relation }}') and attname = '{{ column }}' and not attisdropped;
        if current_type is null then
            alter table {{ relation }} add column {{ column }} {{ data_type }};
        elsif replace(current_type, ' ', '') <> replace('{{ data_type }}', ' ', '') then
            alter table {{ relation }} alter column {{ column }} type {{ data_type }}
                using {{ column }}::{{ data_type }};
        end if;
    end
    $ensure_column$
{%- endmacro %}
