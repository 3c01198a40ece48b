{{ config(group='segments') }}  -- reads int_leads_bucketed, private to the group
-- A lead belongs to at most one segment: one assignment row per lead, and on each day the
-- stats over all segments add up to the distinct assigned leads of that day (days before today:
-- `assign` keeps assigning today's leads between two stats builds). Leads and days of the
-- data-test window (macro data_test_window; var data_test_lookback_days, 0 = all history).
with assignments as (
    select * from {{ ref('lead_segment_assignments') }}
    where lead_created_at >= {{ data_test_window_start() }}
),

leads as (
    select * from {{ ref('int_leads_bucketed') }}
    where created_at >= {{ data_test_window_start() }}
),

stats as (
    select * from {{ ref('lead_generation_stats') }}
    where date >= {{ data_test_window_start_date() }}
),

duplicate_leads as (
    select
        lead_id::text as what,
        count(*) as n_found,
        1 as n_expected
    from assignments
    group by lead_id
    having count(*) > 1
),

daily_stats as (
    select
        date as stats_date,
        sum(leads_generated) as n_leads
    from stats
    where date < (now() at time zone '{{ var("timezone") }}')::date
    group by date
),

daily_leads as (
    select
        (leads.created_at at time zone '{{ var("timezone") }}')::date as stats_date,
        count(distinct leads.lead_id) as n_leads
    from leads
    inner join assignments on leads.lead_id = assignments.lead_id
    where
        assignments.segment_id is not null
        and leads.created_at
        < (now() at time zone '{{ var("timezone") }}')::date::timestamp at time zone '{{ var("timezone") }}'
    group by stats_date
),

mismatched_days as (
    select
        daily_stats.stats_date::text as what,
        daily_stats.n_leads as n_found,
        daily_leads.n_leads as n_expected
    from daily_stats
    left join daily_leads on daily_stats.stats_date = daily_leads.stats_date
    where daily_stats.n_leads <> coalesce(daily_leads.n_leads, 0)
),

final as (
    select * from duplicate_leads
    union all
    select * from mismatched_days
)

select * from final
