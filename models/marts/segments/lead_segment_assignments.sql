{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        incremental_strategy='delete+insert',
        pre_hook=[
            "{{ ensure_column(this, 'industry_id', 'text') }}",
            "{{ ensure_column(this, 'written_at', 'timestamp with time zone') }}",
        ],
        post_hook=[
            "{{ analyze_if_never_analyzed(this) }}",
            "{{ ensure_index(this, 'segment_day_idx', '(segment_id, lead_created_at) include (status_bucket)', replaces='segment_id_idx') }}",
            "{{ ensure_index(this, 'retry_idx', '(reference_fingerprint) where segment_id is null and input_fingerprint is not null', replaces='unmatched_idx') }}",
            "{{ ensure_index(this, 'watermark_idx', '(source_updated_at)') }}",
            "{{ ensure_index(this, 'assigned_at_idx', '(assigned_at)') }}",
            "{{ ensure_index(this, 'written_at_idx', '(written_at)') }}",
            "{{ ensure_index(this, 'created_at_idx', '(lead_created_at) include (segment_id, status_bucket)') }}",
        ],
    )
}}
-- One row per lead: its segment (sticky) or why it has none. Rules and the incremental design:
-- the model's docs (_segments__models.yml).
{%- set result_columns = [
    'segment_id', 'branch', 'region_code', 'region_source', 'is_region_conflict', 'unmatched_reason'] %}
{%- set input_columns = [
    'status_bucket', 'lead_created_at', 'industry_id', 'postcode_pc4', 'province_key', 'input_fingerprint'] %}
with leads as not materialized (
    select * from {{ ref('int_leads_bucketed') }}
),

segments as (
    select * from {{ ref('stg_public__lead_segments') }}
),

reference as (
    select * from {{ ref('int_reference_data_fingerprinted') }}
),

previous as not materialized (
    {% if is_incremental() %}select * from {{ this }}{% else %}{{ empty_from_contract() }}{% endif %}
),

{% if is_incremental() %}
    {%- set updated_after = watermark_literal(
        "select max(source_updated_at) - interval '" ~ var('assignment_late_commit_margin') ~ "' from " ~ this,
        override_var='assignments_updated_after',
    ) %}
    updated as (
        -- leads updated since the watermark (an index range), each with its row here (a key probe)
        select
            leads.lead_id,
            leads.updated_at,
            row(leads.input_fingerprint, leads.status_bucket, leads.created_at)::text
            <> row(kept.input_fingerprint, kept.status_bucket, kept.lead_created_at)::text as is_changed,
            kept.input_fingerprint is null as is_new  -- no row here, or a lead_deleted one
        from leads
        left join previous as kept on leads.lead_id = kept.lead_id
        where leads.updated_at > {{ updated_after }}::timestamptz
    ),

    missed_or_gone as (
        -- leads the watermark missed (lead_id) and deleted ones (gone_lead_id), compared only when
        -- the live lead count disagrees with the rows here plus the new ones. Two counts of the
        -- history: daily runs them, the frequent `assign` skips them (var assignment_find_deleted_leads)
        select
            leads.lead_id,
            previous.lead_id as gone_lead_id
        from leads
        full join previous on leads.lead_id = previous.lead_id
        where
            {% if var('assignment_find_deleted_leads') -%}
                (select count(*) from leads as all_leads) <> (  -- noqa: AL05
                    select count(*) from previous as kept
                    where kept.input_fingerprint is not null
                ) + (
                    select count(*) from updated
                    where updated.is_new
                )
            {%- else %}false{% endif %}
            and (previous.lead_id is null or leads.lead_id is null and previous.input_fingerprint is not null)
    ),

    candidate_ids as (
        -- updated leads whose inputs, status bucket or creation time changed (a write-back touches
        -- every lead it writes), and the newest one, always rewritten so the watermark moves on
        select updated.lead_id from updated
        where
            updated.is_changed or updated.lead_id = (
                select newest.lead_id from updated as newest
                order by newest.updated_at desc, newest.lead_id desc limit 1
            )
        union
        -- unmatched leads resolved against other reference data: three range scans of retry_idx
        {%- for condition in ['< (select reference_fingerprint from reference)',
                              '> (select reference_fingerprint from reference)', 'is null'] %}
            select previous.lead_id from previous
            where
                previous.segment_id is null
                and previous.input_fingerprint is not null  -- not a lead_deleted row
                and previous.reference_fingerprint {{ condition }}
            union
        {%- endfor %}
        -- leads of deleted segments
        select previous.lead_id from previous
        where previous.segment_id in (
                select kept.segment_id from ({{ distinct_values(this, 'segment_id') }}) as kept
                where kept.segment_id not in (select segments.segment_id from segments)
            )
        union
        select coalesce(missed_or_gone.lead_id, missed_or_gone.gone_lead_id) as lead_id from missed_or_gone
    ),
{% endif %}

resolved as (
    -- = any(array(...)) reaches the primary key of public.leads: only candidates are resolved. An
    -- unmatched lead keeps the reference data it was resolved against (retried when it changes)
    select
        lead_id, {{ result_columns | join(', ') }},
        case when segment_id is null then (select reference.reference_fingerprint from reference) end
            as reference_fingerprint,
        status_bucket, created_at as lead_created_at, industry_id, postcode_pc4, province_key, input_fingerprint,
        updated_at as source_updated_at
    from {{ ref('int_leads_resolved') }}
    {% if is_incremental() %}
        where lead_id = any(array(select candidate_ids.lead_id from candidate_ids))
        union all
        -- a deleted (or quarantined) lead: kept as reason lead_deleted, so the stats see its day go
        select
            lead_id, null as segment_id, null as branch, null as region_code, null as region_source,
            false as is_region_conflict, 'lead_deleted' as unmatched_reason, null as reference_fingerprint,
            {{ input_columns[:-1] | join(', ') }}, null as input_fingerprint, source_updated_at
        from previous
        where lead_id = any(array(select missed_or_gone.gone_lead_id from missed_or_gone))
    {% endif %}
),

final as (
    select
        resolved.lead_id,
        {%- for column in result_columns + ['reference_fingerprint'] %}
            case when kept.is_kept then previous.{{ column }} else resolved.{{ column }} end as {{ column }},
        {%- endfor %}
        resolved.{{ input_columns | join(', resolved.') }},
        resolved.source_updated_at,
        case when compared.is_same_result then previous.assigned_at else now() end as assigned_at,
        -- when what the stats count of this lead last changed
        case
            when compared.is_same_result and compared.is_same_inputs then previous.written_at else now()
        end as written_at
    from resolved
    left join previous on resolved.lead_id = previous.lead_id
    -- sticky: a lead whose own inputs are unchanged keeps its segment while the segment exists,
    -- active or not, whatever its status
    inner join lateral (  -- noqa: ST05
        select
            coalesce(
                previous.input_fingerprint = resolved.input_fingerprint
                and previous.segment_id in (select segments.segment_id from segments),
                false
            ) as is_kept
    ) as kept on true
    inner join lateral (  -- noqa: ST05
        {% if is_incremental() -%}
            select
                kept.is_kept
                or row(resolved.{{ result_columns | join(', resolved.') }})::text
                = row(previous.{{ result_columns | join(', previous.') }})::text as is_same_result,
                row(
                    resolved.{{ input_columns | join(', resolved.') }},
                    case when kept.is_kept then previous.reference_fingerprint else resolved.reference_fingerprint end
                )::text
                = row(previous.{{ input_columns | join(', previous.') }}, previous.reference_fingerprint)::text
                    as is_same_inputs
        {%- else -%}
            select
                false as is_same_result,  -- a first build compares with nothing (10 M rows: 10 s)
                false as is_same_inputs
        {%- endif %}
    ) as compared on true
)

select * from final
