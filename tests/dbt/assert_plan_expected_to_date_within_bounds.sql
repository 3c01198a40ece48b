-- expected_to_date is never negative nor above the target, elapsed days stay within the
-- period, and a finished plan expects exactly its target.
with

plans as (
    select * from {{ ref('segment_plan_vs_actual') }}
),

final as (
    select *
    from plans
    where
        expected_to_date < 0
        or expected_to_date > target_leads
        or elapsed_days < 0
        or elapsed_days > period_days
        or (period_status = 'finished' and expected_to_date <> target_leads)
        or (period_status = 'upcoming' and expected_to_date <> 0)
)

select * from final
