{#-
    Post-hook (first in the list, before the indexes): ANALYZE `relation` when it has no
    statistics yet, i.e. right after a first build or a full refresh wrote it (pg_class.reltuples
    is -1 until the table is analyzed, vacuumed or indexed). Until autovacuum gets to it the
    planner would otherwise guess the size of a table just filled with millions of rows, and the
    next run's plans, the write-back's included, would be made on that guess. An incremental
    run, which keeps the table and its statistics, skips it.
-#}
{% macro analyze_if_never_analyzed(relation) -%}
    do $analyze_if_never_analyzed$
    begin
        if (select c.reltuples from pg_catalog.pg_class as c where c.oid = '{{ relation }}'::regclass) < 0 then
            analyze {{ relation }};
        end if;
    end
    $analyze_if_never_analyzed$
{%- endmacro %}
