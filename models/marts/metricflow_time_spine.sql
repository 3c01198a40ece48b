-- MetricFlow's time spine: one row per Amsterdam calendar day (the days of every date column the
-- semantic models use as metric time), over the bounds leads may have (vars lead_created_at_min
-- and lead_created_at_max). Configured as the spine by the `time_spine:` property in
-- _metricflow__time_spine.yml.
with days as (
    select spine_day.day_at::date as date_day
    from
        generate_series(
            '{{ var("lead_created_at_min") }}'::date::timestamp,
            '{{ var("lead_created_at_max") }}'::date::timestamp,
            interval '1 day'
        ) as spine_day (day_at)
)

select date_day from days
