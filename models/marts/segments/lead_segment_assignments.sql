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
            "{{ ensure_index(this, 'segment_day_idx', '(segment_id, lead_created_at) include (status_bucket)') }}",
            "{{ ensure_index(this, 'retry_idx', '(reference_fingerprint) where segment_id is null and input_fingerprint is not null') }}",
            "{{ ensure_index(this, 'watermark_idx', '(source_updated_at)') }}",
            "{{ ensure_index(this, 'assigned_at_idx', '(assigned_at)') }}",
            "{{ ensure_index(this, 'written_at_idx', '(written_at)') }}",
            "{{ ensure_index(this, 'created_at_idx', '(lead_created_at) include (segment_id, status_bucket)') }}",
            "drop index if exists {{ this.schema }}.{{ this.identifier }}_segment_id_idx",
            "drop index if exists {{ this.schema }}.{{ this.identifier }}_unmatched_idx",
        ],
    )
}}
-- One row per lead: its segment (sticky) or why it has none. Rules and the incremental design
-- are in the model's docs (_segments__models.yml). The two dropped indexes are those that
-- segment_day_idx and retry_idx replace, on tables built before them.
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
    changed_leads as (
        -- leads updated since the watermark (index range scan), each with its row here (one
        -- lead_id probe)
        select
            leads.lead_id,
            leads.input_fingerprint,
            leads.status_bucket,
            leads.created_at,
            stored_row.input_fingerprint as stored_input_fingerprint,
            stored_row.status_bucket as stored_status_bucket,
            stored_row.lead_created_at as stored_created_at,
            stored_row.lead_id is null or stored_row.unmatched_reason = 'lead_deleted' as is_new,
            row_number() over (order by leads.updated_at desc, leads.lead_id desc) = 1 as is_newest
        from leads
        left join lateral (
            select
                kept.lead_id,
                kept.unmatched_reason,
                kept.input_fingerprint,
                kept.status_bucket,
                kept.lead_created_at
            from {{ this }} as kept
            where kept.lead_id = leads.lead_id
        ) as stored_row on true
        where leads.updated_at > {{ updated_after }}::timestamptz
    ),

    counts as (
        -- live leads <> leads here + new ones: some were deleted (or missed): then compare ids.
        -- Two counts of the history: daily runs them, the frequent `assign` skips them (var)
        select
            {% if var('assignment_find_deleted_leads') -%}
                (select count(*) from leads)
                <> (
                    select count(*) from {{ this }}
                    where unmatched_reason is distinct from 'lead_deleted'
                )
                + (
                    select count(*) from changed_leads
                    where is_new
                )
            {%- else %}false{% endif %} as is_off
    ),

    candidate_ids as (
        -- new leads, leads whose own inputs, status bucket or creation time changed, and the
        -- newest one (always rewritten, so the watermark moves on)
        select changed_leads.lead_id from changed_leads
        where
            changed_leads.is_newest
            or changed_leads.input_fingerprint is distinct from changed_leads.stored_input_fingerprint
            or changed_leads.status_bucket is distinct from changed_leads.stored_status_bucket
            or changed_leads.created_at is distinct from changed_leads.stored_created_at
        union
        -- unmatched leads resolved against other reference data: <, > and null as three range
        -- scans of the partial index retry_idx (none while the reference data is unchanged)
        {%- for condition in ['< (select reference_fingerprint from reference)',
                              '> (select reference_fingerprint from reference)', 'is null'] %}
            select unmatched.lead_id from {{ this }} as unmatched
            where
                unmatched.segment_id is null
                and unmatched.input_fingerprint is not null  -- not a lead_deleted row
                and unmatched.reference_fingerprint {{ condition }}
            union
        {%- endfor %}
        -- leads of deleted segments
        select orphaned.lead_id from {{ this }} as orphaned
        where orphaned.segment_id in (
                select kept.segment_id from ({{ distinct_values(this, 'segment_id') }}) as kept
                where kept.segment_id not in (select segments.segment_id from segments)
            )
        union
        -- leads the watermark missed
        select leads.lead_id from leads
        where
            (select counts.is_off from counts)
            and not exists (
                select 1 from {{ this }} as kept
                where kept.lead_id = leads.lead_id
            )
    ),

    deleted_leads as (
        -- kept as a row with reason lead_deleted: the stats see the day it leaves
        select kept.* from {{ this }} as kept
        where
            (select counts.is_off from counts)
            and kept.unmatched_reason is distinct from 'lead_deleted'
            and not exists (
                select 1 from leads
                where leads.lead_id = kept.lead_id
            )
    ),
{% endif %}

resolved as (
    -- = any(array(...)) reaches the primary key of public.leads: only candidates are resolved
    select * from {{ ref('int_leads_resolved') }}
    {% if is_incremental() %}where lead_id = any(array(select candidate_ids.lead_id from candidate_ids)){% endif %}
),

decided as (
    -- sticky: a lead whose own inputs are unchanged keeps its segment while the segment exists,
    -- active or not, whatever its status
    select
        resolved.*,
        previous.assigned_at as previous_assigned_at,
        previous.written_at as previous_written_at,
        row(
            previous.segment_id, previous.branch, previous.region_code, previous.region_source,
            previous.is_region_conflict, previous.unmatched_reason
        )::text as previous_result,
        row(
            previous.status_bucket, previous.lead_created_at, previous.industry_id, previous.postcode_pc4,
            previous.province_key, previous.input_fingerprint, previous.reference_fingerprint
        )::text as previous_inputs,
        case when kept.is_kept then previous.segment_id else resolved.segment_id end as result_segment_id,
        case when kept.is_kept then previous.branch else resolved.branch end as result_branch,
        case when kept.is_kept then previous.region_code else resolved.region_code end as result_region_code,
        case when kept.is_kept then previous.region_source else resolved.region_source end as result_region_source,
        case
            when kept.is_kept then previous.is_region_conflict else resolved.is_region_conflict
        end as result_is_region_conflict,
        case when kept.is_kept then previous.unmatched_reason else resolved.unmatched_reason end as result_reason
    from resolved
    left join previous on resolved.lead_id = previous.lead_id
    cross join lateral (  -- noqa: ST05
        select coalesce(
            previous.input_fingerprint = resolved.input_fingerprint
            and previous.segment_id in (select segments.segment_id from segments),
            false
        ) as is_kept
    ) as kept
),

compared as (
    select
        decided.*,
        case
            when decided.result_segment_id is null then (select reference.reference_fingerprint from reference)
        end as result_reference_fingerprint,
        row(
            decided.result_segment_id, decided.result_branch, decided.result_region_code,
            decided.result_region_source, decided.result_is_region_conflict, decided.result_reason
        )::text = decided.previous_result as is_same_result
    from decided
),

final as (
    select
        lead_id,
        result_segment_id as segment_id,
        result_branch as branch,
        result_region_code as region_code,
        result_region_source as region_source,
        result_is_region_conflict as is_region_conflict,
        result_reason as unmatched_reason,
        case when is_same_result then previous_assigned_at else now() end as assigned_at,
        status_bucket,
        created_at as lead_created_at,
        industry_id,
        postcode_pc4,
        province_key,
        input_fingerprint,
        result_reference_fingerprint as reference_fingerprint,
        updated_at as source_updated_at,
        -- when what the stats count of this lead last changed (unchanged for a rewrite of the same row)
        case
            when
                is_same_result and previous_inputs = row(
                    status_bucket, created_at, industry_id, postcode_pc4, province_key, input_fingerprint,
                    result_reference_fingerprint
                )::text
                then previous_written_at
            else now()
        end as written_at
    from compared
    {% if is_incremental() %}
        union all
        select
            lead_id,
            null as segment_id,
            null as branch,
            null as region_code,
            null as region_source,
            false as is_region_conflict,
            'lead_deleted' as unmatched_reason,
            now() as assigned_at,
            status_bucket,
            lead_created_at,
            industry_id::text as industry_id,
            postcode_pc4,
            province_key,
            null as input_fingerprint,
            null as reference_fingerprint,
            source_updated_at,
            now() as written_at
        from deleted_leads
    {% endif %}
)

select * from final
