{#-
    Post-hook of every mart (dbt_project.yml): give the table the primary key its contract declares
    (model-level `constraints: - type: primary_key`) when it has none. dbt creates the key only when
    it creates the table: a table build always, an incremental model on its first build or a full
    refresh. An incremental table built before its contract had a key (segment_capacity_daily can
    never be full-refreshed) gets it here, on its next run. A unique index on exactly the key
    columns (macro ensure_index) becomes the key under its own name, so no second index is built
    and ensure_index still finds its index. A no-op once the key exists.
-#}
{% macro ensure_primary_key(relation) -%}
    {%- set key_columns = [] -%}
    {%- for constraint in model.get('constraints', []) if constraint.get('type') == 'primary_key' -%}
        {%- do key_columns.extend(constraint.get('columns', [])) -%}
    {%- endfor -%}
    {%- if key_columns -%}
        do $ensure_primary_key$
        declare
            key_index text;
        begin
            if not exists (
                select 1 from pg_catalog.pg_constraint
                where conrelid = '{{ relation }}'::regclass and contype = 'p'
            ) then
                select c.relname into key_index
                from pg_catalog.pg_index as i
                inner join pg_catalog.pg_class as c on i.indexrelid = c.oid
                where
                    i.indrelid = '{{ relation }}'::regclass
                    and i.indisunique
                    and i.indpred is null
                    and i.indexprs is null
                    and i.indnatts = {{ key_columns | length }}
                    and (
                        select array_agg(a.attname::text order by a.attname::text)
                        from pg_catalog.pg_attribute as a
                        where a.attrelid = i.indrelid and a.attnum = any(i.indkey)
                    ) = array['{{ key_columns | sort | join("', '") }}']::text[]
                limit 1;
                if key_index is null then
                    alter table {{ relation }} add primary key ({{ key_columns | join(', ') }});
                else
                    execute format(
                        'alter table {{ relation }} add constraint %I primary key using index %I',
                        key_index, key_index
                    );
                end if;
            end if;
        end
        $ensure_primary_key$
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
