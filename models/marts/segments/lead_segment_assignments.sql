{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        incremental_strategy='delete+insert',
        post_hook=[
            "create unique index if not exists {{ this.name }}_lead_id_idx on {{ this }} (lead_id)",
            "create index if not exists {{ this.name }}_segment_id_idx on {{ this }} (segment_id)",
            "create index if not exists {{ this.name }}_unmatched_idx on {{ this }} (lead_id)"
            ~ " where segment_id is null",
            "create index if not exists {{ this.name }}_watermark_idx on {{ this }} (source_updated_at)",
        ],
    )
}}
-- depends_on: {{ ref('stg_public__lead_segments') }}, {{ ref('stg_public__leads') }}
-- One row per lead: its segment (sticky) or why it has none.
-- An incremental run reads only the leads changed since the newest source_updated_at here
-- (an index range scan on leads.updated_at) plus the rows here that are unmatched or whose
-- segment was deleted. A lead keeps its segment while its own industry_id, postcode and
-- province are unchanged (input_fingerprint); otherwise, and for unmatched leads, the current
-- best active segment is taken. --full-refresh recomputes every lead from scratch.
{% if is_incremental() %}
    with watermark as (
        select coalesce(max(source_updated_at), '-infinity') as source_updated_at
        from {{ this }}
    ),

    retry_ids as (
        -- unmatched, or matched to a segment that no longer exists
        select previous.lead_id
        from {{ this }} as previous
        where
            previous.segment_id is null
            or not exists (
                select 1
                from {{ ref('stg_public__lead_segments') }} as segments
                where segments.segment_id = previous.segment_id
            )
    ),

    candidate_ids as (
        -- changed since the watermark (index range scan on leads.updated_at) ...
        select leads.lead_id
        from {{ ref('stg_public__leads') }} as leads
        where leads.updated_at > (select watermark.source_updated_at from watermark)
        union
        -- ... and every row to retry
        select retry_ids.lead_id from retry_ids
    ),

    resolved as (
        -- = any(array(...)) is a plain condition on leads.id, evaluated at the scan of
        -- public.leads (its primary key), so only these leads are parsed and resolved
        select * from {{ ref('int_leads_resolved') }}
        where lead_id = any(array(select candidate_ids.lead_id from candidate_ids))
    ),
{% else %}
    with resolved as (
        select * from {{ ref('int_leads_resolved') }}
    ),
{% endif %}

{% if is_incremental() %}
    previous as (
        select * from {{ this }}
    ),
{% else %}
    previous as (
        -- a first or full-refresh run keeps nothing
        select
            null::uuid as lead_id,
            null::uuid as segment_id,
            null::text as branch,
            null::text as region_code,
            null::text as region_source,
            null::boolean as is_region_conflict,
            null::text as unmatched_reason,
            null::timestamptz as assigned_at,
            null::text as input_fingerprint,
            null::timestamptz as source_updated_at
        where false
    ),
{% endif %}

existing_segments as (
    select segment_id from {{ ref('stg_public__lead_segments') }}
),

decided as (
    select
        resolved.lead_id,
        coalesce(
            previous.segment_id is not null
            and previous.input_fingerprint = resolved.input_fingerprint
            and existing_segments.segment_id is not null,
            false
        ) as is_kept,
        resolved.segment_id,
        resolved.branch,
        resolved.region_code,
        resolved.region_source,
        resolved.is_region_conflict,
        resolved.unmatched_reason,
        resolved.input_fingerprint,
        resolved.updated_at as source_updated_at,
        previous.segment_id as previous_segment_id,
        previous.branch as previous_branch,
        previous.region_code as previous_region_code,
        previous.region_source as previous_region_source,
        previous.is_region_conflict as previous_is_region_conflict,
        previous.unmatched_reason as previous_unmatched_reason,
        previous.assigned_at as previous_assigned_at
    from resolved
    left join previous on resolved.lead_id = previous.lead_id
    left join existing_segments on previous.segment_id = existing_segments.segment_id
),

final as (
    select
        lead_id,
        case when is_kept then previous_segment_id else segment_id end as segment_id,
        case when is_kept then previous_branch else branch end as branch,
        case when is_kept then previous_region_code else region_code end as region_code,
        case when is_kept then previous_region_source else region_source end as region_source,
        case when is_kept then previous_is_region_conflict else is_region_conflict end as is_region_conflict,
        case when is_kept then null else unmatched_reason end as unmatched_reason,
        case
            when is_kept then previous_assigned_at
            when (
                previous_assigned_at is not null
                and (segment_id, unmatched_reason, region_code, branch) is not distinct from (
                    previous_segment_id, previous_unmatched_reason, previous_region_code, previous_branch
                )
            ) then previous_assigned_at
            else now()
        end as assigned_at,
        input_fingerprint,
        source_updated_at
    from decided
)

select * from final
