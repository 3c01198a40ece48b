-- One row per plan: its segment's leads in the period (from lead_generation_stats) against the
-- target, linear expected-to-date and whether it is on track (definitions in the model's docs).
with

plans as (
    select * from {{ ref('stg_public__lead_segment_plans') }}
),

segments as (
    select * from {{ ref('stg_public__lead_segments') }}
),

daily_stats as (
    select * from {{ ref('lead_generation_stats') }}
),

reporting as (
    select {{ reporting_date() }} as reporting_date
),

plan_periods as (
    select
        plans.plan_id,
        plans.segment_id,
        segments.branch,
        segments.region_code,
        plans.period_start_date,
        plans.period_end_date,
        plans.target_leads,
        plans.budget,
        reporting.reporting_date,
        plans.period_end_date - plans.period_start_date + 1 as period_days,
        least(
            greatest(reporting.reporting_date - plans.period_start_date, 0),
            plans.period_end_date - plans.period_start_date + 1
        ) as elapsed_days
    from plans
    inner join segments
        on plans.segment_id = segments.segment_id
    cross join reporting
),

actuals as (
    select
        plan_periods.plan_id,
        sum(daily_stats.leads_generated) as actual_leads,
        sum(daily_stats.leads_accepted) as actual_leads_accepted
    from plan_periods
    inner join daily_stats
        on
            plan_periods.segment_id = daily_stats.segment_id
            and daily_stats.date between plan_periods.period_start_date
            and plan_periods.period_end_date
    group by plan_periods.plan_id
),

measured as (
    select
        plan_periods.*,
        coalesce(actuals.actual_leads, 0) as actual_leads,
        coalesce(actuals.actual_leads_accepted, 0) as actual_leads_accepted,
        cast(plan_periods.target_leads as numeric) * plan_periods.elapsed_days
        / plan_periods.period_days as expected_to_date
    from plan_periods
    left join actuals
        on plan_periods.plan_id = actuals.plan_id
),

final as (
    select
        plan_id,
        segment_id,
        branch,
        region_code,
        period_start_date,
        period_end_date,
        case
            when reporting_date < period_start_date then 'upcoming'
            when reporting_date > period_end_date then 'finished'
            else 'running'
        end as period_status,
        reporting_date,
        cast(period_days as integer) as period_days,
        cast(elapsed_days as integer) as elapsed_days,
        cast(target_leads as integer) as target_leads,
        cast(budget as numeric) as budget,
        cast(actual_leads as bigint) as actual_leads,
        cast(actual_leads_accepted as bigint) as actual_leads_accepted,
        cast(round(cast(actual_leads as numeric) / nullif(target_leads, 0), 4) as numeric)
            as share_of_target,
        cast(round(expected_to_date, 2) as numeric) as expected_to_date,
        actual_leads >= expected_to_date as is_on_track
    from measured
)

select * from final
