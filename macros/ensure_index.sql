{#-
    Post-hook: index `<relation name>_<suffix>` on `relation` with `definition` (the part after
    `on <relation>`, e.g. '(lead_id)' or '(reference_fingerprint) where segment_id is null'),
    unless this relation already has it.
    `create index if not exists` alone is not enough: a table build (and a full refresh of an
    incremental model) renames the old relation to a backup that keeps its index names until it
    is dropped, so the name would still be taken and the new relation left without the index.
    A name held by another relation (that backup) is freed first. `replaces`: the suffix of an
    index this one supersedes, dropped from tables built before it.
-#}
{% macro ensure_index(relation, suffix, definition, unique=false, replaces=none) -%}
    {%- set index_name = relation.identifier ~ '_' ~ suffix -%}
    do $ensure_index$
    begin
        {% if replaces %}drop index if exists {{ relation.schema }}.{{ relation.identifier ~ '_' ~ replaces }};{% endif %}
        if not exists (
            select 1
            from pg_catalog.pg_index as i
            inner join pg_catalog.pg_class as c on i.indexrelid = c.oid
            where i.indrelid = '{{ relation }}'::regclass and c.relname = '{{ index_name }}'
        ) then
            drop index if exists {{ relation.schema }}.{{ index_name }};
            create {{ 'unique ' if unique }}index {{ index_name }} on {{ relation }} {{ definition }};
        end if;
    end
    $ensure_index$
{%- endmacro %}
