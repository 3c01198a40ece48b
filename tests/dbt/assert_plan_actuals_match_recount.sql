-- Every plan's actual_leads equals a recount straight from the leads and their assignments:
-- leads assigned to the plan's segment whose created_at (Amsterdam day) is in the period.
-- Leads are first counted per segment and day, so the recount scans the leads once.
-- The plans still running in the data-test window (macro data_test_window; 0 = all), recounted
-- from the first day of the earliest of them: the cost follows the plans' length, not the history.
with

plans as (
    select * from {{ ref('segment_plan_vs_actual') }}
    where period_end_date >= {{ data_test_window_start_date() }}
),

first_lead_at as (
    select min(period_start_date)::timestamp at time zone '{{ var("timezone") }}' as created_from
    from plans
),

assignments as (
    select * from {{ ref('lead_segment_assignments') }}
    where lead_created_at >= (select first_lead_at.created_from from first_lead_at)
),

leads as (
    select * from {{ ref('stg_public__leads') }}
    where created_at >= (select first_lead_at.created_from from first_lead_at)
),

leads_per_segment_day as (
    select
        assignments.segment_id,
        cast(leads.created_at at time zone '{{ var("timezone") }}' as date) as created_date,
        count(*) as leads_count
    from assignments
    inner join leads
        on assignments.lead_id = leads.lead_id
    where assignments.segment_id is not null
    group by
        assignments.segment_id,
        cast(leads.created_at at time zone '{{ var("timezone") }}' as date)
),

recount as (
    select
        plans.plan_id,
        coalesce(sum(leads_per_segment_day.leads_count), 0) as leads_count
    from plans
    left join leads_per_segment_day
        on
            plans.segment_id = leads_per_segment_day.segment_id
            and leads_per_segment_day.created_date between plans.period_start_date
            and plans.period_end_date
    group by plans.plan_id
),

final as (
    select
        plans.plan_id,
        plans.actual_leads,
        recount.leads_count as recounted_leads
    from plans
    inner join recount
        on plans.plan_id = recount.plan_id
    where plans.actual_leads <> recount.leads_count
)

select * from final
