{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        incremental_strategy='delete+insert',
        post_hook=[
            "create unique index if not exists {{ this.name }}_lead_id_idx on {{ this }} (lead_id)",
            "create index if not exists {{ this.name }}_segment_id_idx on {{ this }} (segment_id)",
            "create index if not exists {{ this.name }}_unmatched_reason_idx on {{ this }} (unmatched_reason)"
            ~ " include (lead_id, industry_id, branch, region_code) where segment_id is null",
            "create index if not exists {{ this.name }}_watermark_idx on {{ this }} (source_updated_at)",
        ],
    )
}}
-- depends_on: {{ ref('stg_public__lead_segments') }}, {{ ref('stg_public__leads') }}
-- depends_on: {{ ref('int_regions') }}, {{ ref('int_industry_branches') }}
-- One row per lead: its segment (sticky) or why it has none.
-- Sticky: a lead is resolved again only when it is new, when its own industry_id, postcode or
-- province changed (input_fingerprint), when it is unmatched (retried every run, so a newly
-- activated segment picks it up) or when its segment was deleted. An incremental run
--   1. reads the leads updated since the newest source_updated_at here, minus a safety margin
--      for transactions that committed late (index range scan on leads.updated_at), and keeps
--      those whose fingerprint differs from the stored one: a cheap md5 compare, so the
--      write-back touching every lead's updated_at costs no re-resolution;
--   2. resolves only those plus the unmatched rows (int_leads_resolved, filtered on lead_id
--      at the scan of public.leads);
--   3. writes only rows whose result or fingerprint changed, plus the newest changed lead
--      (unchanged, to move the watermark): a re-run rewrites at most that one row.
-- --full-refresh recomputes every lead from scratch (assigned_at = now).
{% if is_incremental() %}
    {#- The watermark as a literal, so the planner sees how few leads are newer than it. -#}
    {%- set updated_after = var('assignments_updated_after', none) -%}
    {%- if updated_after is none and execute -%}
        {%- set watermark_sql -%}
            select (coalesce(max(source_updated_at), '-infinity') - interval '{{ var("assignment_late_commit_margin") }}')::text
            from {{ this }}
        {%- endset -%}
        {%- set updated_after = run_query(watermark_sql).columns[0].values()[0] -%}
    {%- endif %}
    with segments as (
        select * from {{ ref('stg_public__lead_segments') }}
    ),

    regions as (
        select * from {{ ref('int_regions') }}
    ),

    industry_branches as (
        select * from {{ ref('int_industry_branches') }}
    ),

    changed_leads as (
        select
            leads.lead_id,
            leads.updated_at,
            leads.input_fingerprint
        from {{ ref('stg_public__leads') }} as leads
        where leads.updated_at > '{{ updated_after or "-infinity" }}'::timestamptz
    ),

    newest_change as (
        -- always rewritten, so the watermark moves past touched-but-unchanged leads
        select changed_leads.lead_id
        from changed_leads
        order by changed_leads.updated_at desc, changed_leads.lead_id desc
        limit 1
    ),

    -- Every unmatched lead is re-checked each run and resolved again when its result can
    -- differ now: no_region always (few; follows region seed changes), unknown_industry when
    -- its industry resolves to a branch now, no_active_segment when an active segment exists
    -- now for its branch and its region or province. Plus leads whose segment is gone.
    retry_ids as (
        select previous.lead_id
        from {{ this }} as previous
        where
            previous.segment_id is not null
            and not exists (
                select 1
                from segments
                where segments.segment_id = previous.segment_id
            )

        union all

        select previous.lead_id
        from {{ this }} as previous
        where previous.unmatched_reason = 'no_region'

        union all

        select previous.lead_id
        from {{ this }} as previous
        inner join industry_branches on previous.industry_id = industry_branches.industry_id
        where previous.unmatched_reason = 'unknown_industry' and industry_branches.branch is not null

        union all

        select previous.lead_id
        from {{ this }} as previous
        inner join segments
            on
                previous.branch = segments.branch
                and previous.region_code = segments.region_code
        where previous.unmatched_reason = 'no_active_segment' and segments.is_active

        union all

        select previous.lead_id
        from {{ this }} as previous
        inner join regions on previous.region_code = regions.region_code
        inner join segments
            on
                previous.branch = segments.branch
                and regions.province_code = segments.region_code
        where previous.unmatched_reason = 'no_active_segment' and segments.is_active
    ),

    candidate_ids as (
        -- new leads and leads whose own inputs changed
        select changed_leads.lead_id
        from changed_leads
        left join {{ this }} as previous on changed_leads.lead_id = previous.lead_id
        where previous.input_fingerprint is distinct from changed_leads.input_fingerprint

        union

        select newest_change.lead_id from newest_change

        union

        select retry_ids.lead_id from retry_ids
    ),

    previous as (
        -- referenced once: inlined, so the join can use the lead_id index
        select * from {{ this }}
    ),

    resolved as (
        -- = any(array(...)) is a plain condition on leads.id, applied at the scan of
        -- public.leads (primary key), so only these leads are parsed and resolved
        select * from {{ ref('int_leads_resolved') }}
        where lead_id = any(array(select candidate_ids.lead_id from candidate_ids))
    ),
{% else %}
    with resolved as (
        select * from {{ ref('int_leads_resolved') }}
    ),

    previous as (
        -- a first or full-refresh run keeps nothing
        select
            null::uuid as lead_id,
            null::uuid as industry_id,
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

decided as (
    select
        resolved.lead_id,
        resolved.industry_id,
        resolved.segment_id,
        resolved.branch,
        resolved.region_code,
        resolved.region_source,
        resolved.is_region_conflict,
        resolved.unmatched_reason,
        resolved.input_fingerprint,
        resolved.updated_at as source_updated_at,
        previous.lead_id is not null as has_previous,
        -- record text: NULL-safe comparison of the whole result
        row(
            resolved.segment_id,
            resolved.branch,
            resolved.region_code,
            resolved.region_source,
            resolved.is_region_conflict,
            resolved.unmatched_reason
        )::text = row(
            previous.segment_id,
            previous.branch,
            previous.region_code,
            previous.region_source,
            previous.is_region_conflict,
            previous.unmatched_reason
        )::text as is_same_result,
        coalesce(resolved.input_fingerprint = previous.input_fingerprint, false) as is_same_fingerprint,
        previous.assigned_at as previous_assigned_at
    from resolved
    left join previous on resolved.lead_id = previous.lead_id
),

final as (
    select
        lead_id,
        segment_id,
        branch,
        region_code,
        region_source,
        is_region_conflict,
        unmatched_reason,
        case when has_previous and is_same_result then previous_assigned_at else now() end as assigned_at,
        industry_id,
        input_fingerprint,
        source_updated_at
    from decided
    where
        not (has_previous and is_same_result and is_same_fingerprint)
        {% if is_incremental() %}
            or lead_id in (select newest_change.lead_id from newest_change)
        {% endif %}
)

select * from final
