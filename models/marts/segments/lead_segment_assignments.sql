{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        incremental_strategy='delete+insert',
        pre_hook="{{ ensure_column_type(this, 'industry_id', 'text') }}",
        post_hook=[
            "{{ analyze_if_never_analyzed(this) }}",
            "{{ ensure_index(this, 'lead_id_idx', '(lead_id)', unique=true) }}",
            "{{ ensure_index(this, 'segment_id_idx', '(segment_id)') }}",
            "{{ ensure_index(this, 'unmatched_idx', '(reference_fingerprint) where segment_id is null') }}",
            "{{ ensure_index(this, 'watermark_idx', '(source_updated_at)') }}",
            "{{ ensure_index(this, 'assigned_at_idx', '(assigned_at)') }}",
            "{{ ensure_index(this, 'created_at_idx', '(lead_created_at) include (segment_id, status_bucket)') }}",
        ],
    )
}}
-- depends_on: {{ ref('stg_public__lead_segments') }}, {{ ref('int_leads_bucketed') }}
-- depends_on: {{ ref('int_industry_branches') }}, {{ ref('int_pc4_regions') }}, {{ ref('int_region_keys') }}
-- One row per lead: its segment (sticky) or why it has none, with the lead's creation time and
-- status bucket (what lead_generation_stats counts, so it reads this table alone).
-- Sticky: a lead is resolved again only when it is new, when its own industry_id, postcode or
-- province changed (input_fingerprint), when it is unmatched and the reference data its
-- resolution reads changed since (reference_fingerprint: active segments, industry branches,
-- PC4 and region-name seeds), or when its segment was deleted. An incremental run
--   1. reads the leads updated since the newest source_updated_at here, minus a safety margin
--      for transactions that committed late (index range scan on leads.updated_at), and keeps
--      those whose fingerprint, status bucket or creation time differs from the stored one: a
--      cheap compare, so the write-back touching every lead's updated_at costs no re-resolution;
--   2. adds the unmatched rows whose reference_fingerprint is not the current one (range
--      scans of a partial index: none while the reference data is unchanged) and the rows of
--      deleted segments (the segment ids here, found by an index skip scan, one probe each);
--   3. resolves only those (int_leads_resolved, filtered on lead_id at the scan of
--      public.leads) and writes only rows that changed, plus the newest changed lead
--      (unchanged, to move the watermark): a re-run rewrites at most that one row.
-- Every step follows the number of changed leads, not the size of the history.
-- --full-refresh recomputes every lead from scratch (assigned_at = now).
{%- set reference_fingerprint_sql -%}
    -- what an unmatched lead's result depends on besides its own fields
    select
        md5(concat_ws(
            '|',
            (
                select string_agg(concat_ws(',', s.segment_id, s.branch, s.region_code), ';' order by s.segment_id)
                from {{ ref('stg_public__lead_segments') }} as s
                where s.is_active
            ),
            (
                select string_agg(concat_ws(',', i.industry_id, i.branch), ';' order by i.industry_id)
                from {{ ref('int_industry_branches') }} as i
            ),
            (
                select string_agg(concat_ws(',', p.pc4, p.municipality_code, p.province_code), ';' order by p.pc4)
                from {{ ref('int_pc4_regions') }} as p
            ),
            (
                select
                    string_agg(
                        concat_ws(',', k.region_key, k.region_code, k.province_code), ';'
                        order by k.region_key, k.region_code
                    )
                from {{ ref('int_region_keys') }} as k
            )
        )) as reference_fingerprint
{%- endset %}
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
    with recursive segments as (
        select * from {{ ref('stg_public__lead_segments') }}
    ),

    reference as (
        {{ reference_fingerprint_sql }}
    ),

    changed_leads as (
        select
            leads.lead_id,
            leads.updated_at,
            leads.created_at,
            leads.input_fingerprint,
            leads.status_bucket
        from {{ ref('int_leads_bucketed') }} as leads
        where leads.updated_at > '{{ updated_after or "-infinity" }}'::timestamptz
    ),

    newest_change as (
        -- always rewritten, so the watermark moves past touched-but-unchanged leads
        select changed_leads.lead_id
        from changed_leads
        order by changed_leads.updated_at desc, changed_leads.lead_id desc
        limit 1
    ),

    previous_segment_ids (segment_id) as (
        -- the distinct segment ids of this table: an index skip scan, one probe per segment
        (
            select previous.segment_id
            from {{ this }} as previous
            where previous.segment_id is not null
            order by previous.segment_id
            limit 1
        )

        union all

        select (
            select previous.segment_id
            from {{ this }} as previous
            where previous.segment_id > previous_segment_ids.segment_id
            order by previous.segment_id
            limit 1
        )
        from previous_segment_ids
        where previous_segment_ids.segment_id is not null
    ),

    deleted_segment_ids as (
        select previous_segment_ids.segment_id
        from previous_segment_ids
        left join segments on previous_segment_ids.segment_id = segments.segment_id
        where previous_segment_ids.segment_id is not null and segments.segment_id is null
    ),

    retry_ids as (
        -- unmatched leads resolved against other reference data than today's: <, > and null as
        -- three branches, so each is a range scan of the partial index (one OR'ed filter would
        -- read every unmatched row of the history); none while the reference data is unchanged
        select previous.lead_id
        from {{ this }} as previous
        where
            previous.segment_id is null
            and previous.reference_fingerprint < (select reference.reference_fingerprint from reference)

        union all

        select previous.lead_id
        from {{ this }} as previous
        where
            previous.segment_id is null
            and previous.reference_fingerprint > (select reference.reference_fingerprint from reference)

        union all

        select previous.lead_id
        from {{ this }} as previous
        where previous.segment_id is null and previous.reference_fingerprint is null

        union all

        -- leads whose segment was deleted
        select previous.lead_id
        from {{ this }} as previous
        where previous.segment_id in (select deleted_segment_ids.segment_id from deleted_segment_ids)
    ),

    candidate_ids as (
        -- new leads and leads whose own inputs, status bucket or creation time changed: one
        -- lead_id index probe per changed lead (lateral + limit keeps the planner from hashing
        -- a sequential scan of this whole table, which grows with the history)
        select changed_leads.lead_id
        from changed_leads
        left join lateral (
            select
                previous.input_fingerprint,
                previous.status_bucket,
                previous.lead_created_at
            from {{ this }} as previous
            where previous.lead_id = changed_leads.lead_id
            order by previous.lead_id
            limit 1
        ) as previous on true
        where
            previous.input_fingerprint is distinct from changed_leads.input_fingerprint
            or previous.status_bucket is distinct from changed_leads.status_bucket
            or previous.lead_created_at is distinct from changed_leads.created_at

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

    reference as (
        {{ reference_fingerprint_sql }}
    ),

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
            null::text as status_bucket,
            null::timestamptz as lead_created_at,
            null::text as industry_id,
            null::integer as postcode_pc4,
            null::text as province_key,
            null::text as input_fingerprint,
            null::text as reference_fingerprint,
            null::timestamptz as source_updated_at
        where false
    ),
{% endif %}

decided as (
    select
        resolved.lead_id,
        result.segment_id,
        result.branch,
        result.region_code,
        result.region_source,
        result.is_region_conflict,
        result.unmatched_reason,
        resolved.status_bucket,
        resolved.created_at as lead_created_at,
        resolved.industry_id,
        resolved.postcode_pc4,
        resolved.province_key,
        resolved.input_fingerprint,
        -- only an unmatched result depends on it (a matched one is sticky): NULL when matched, so
        -- a row's content does not depend on which run last rewrote it
        case
            when result.segment_id is null then (select reference.reference_fingerprint from reference)
        end as reference_fingerprint,
        resolved.updated_at as source_updated_at,
        previous.lead_id is not null as has_previous,
        -- record text: NULL-safe comparison of the whole result
        row(
            result.segment_id,
            result.branch,
            result.region_code,
            result.region_source,
            result.is_region_conflict,
            result.unmatched_reason
        )::text = row(
            previous.segment_id,
            previous.branch,
            previous.region_code,
            previous.region_source,
            previous.is_region_conflict,
            previous.unmatched_reason
        )::text as is_same_result,
        row(
            resolved.status_bucket,
            resolved.created_at,
            resolved.industry_id,
            resolved.postcode_pc4,
            resolved.province_key,
            resolved.input_fingerprint,
            case when result.segment_id is null then (select reference.reference_fingerprint from reference) end
        )::text = row(
            previous.status_bucket,
            previous.lead_created_at,
            previous.industry_id,
            previous.postcode_pc4,
            previous.province_key,
            previous.input_fingerprint,
            case when previous.segment_id is null then previous.reference_fingerprint end
        )::text as is_same_inputs,
        previous.assigned_at as previous_assigned_at
    from resolved
    left join previous on resolved.lead_id = previous.lead_id
    -- Sticky: a lead whose own inputs (industry, postcode, province) are unchanged keeps the segment
    -- it has while that segment exists, active or not; its status changing never moves it.
    cross join
        lateral (  -- noqa: ST05
            select
                previous.segment_id is not null
                and previous.input_fingerprint = resolved.input_fingerprint
                and exists (
                    select 1 from {{ ref('stg_public__lead_segments') }} as kept_segment
                    where kept_segment.segment_id = previous.segment_id
                ) as is_kept
        ) as stick
    cross join lateral (  -- noqa: ST05
        select
            case when stick.is_kept then previous.segment_id else resolved.segment_id end as segment_id,
            case when stick.is_kept then previous.branch else resolved.branch end as branch,
            case when stick.is_kept then previous.region_code else resolved.region_code end as region_code,
            case when stick.is_kept then previous.region_source else resolved.region_source end as region_source,
            case
                when stick.is_kept then previous.is_region_conflict else resolved.is_region_conflict
            end as is_region_conflict,
            case when stick.is_kept then previous.unmatched_reason else resolved.unmatched_reason end
                as unmatched_reason
    ) as result
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
        status_bucket,
        lead_created_at,
        industry_id,
        postcode_pc4,
        province_key,
        input_fingerprint,
        reference_fingerprint,
        source_updated_at
    from decided
    where
        not (has_previous and is_same_result and is_same_inputs)
        {% if is_incremental() %}
            or lead_id in (select newest_change.lead_id from newest_change)
        {% endif %}
)

select * from final
