-- One row per segment and suggested next action (phase 3: rules, not AI), from the planning and
-- marketing marts. The rules, their thresholds (vars health_* and action_*) and the impact per
-- rule are documented in _planning__models.yml.
{%- set common_columns = [
    'segment_id', 'rule', 'action', 'measure', 'measure_value', 'threshold_value', 'impact_leads_per_week', 'reason'
] %}
{%- set kind_columns = {
    'partner_count': 'bigint', 'partner_ids': 'text', 'partners_free_capacity': 'bigint',
    'partners_budget_left': 'numeric', 'plan_id': 'uuid', 'leads_needed_per_day': 'numeric',
    'gap_leads_per_day': 'numeric', 'campaign_count': 'bigint', 'campaign_ids': 'text', 'excess_spend': 'numeric',
} %}
{%- set partner_columns = ['partner_count', 'partner_ids', 'partners_free_capacity', 'partners_budget_left'] %}
{%- set rule_row_columns = {
    'supply_actions': partner_columns,
    'demand_actions': partner_columns,
    'unhealthy_actions': partner_columns,
    'plan_actions': ['plan_id', 'leads_needed_per_day', 'gap_leads_per_day'],
    'campaign_rows': ['campaign_count', 'campaign_ids', 'excess_spend'],
} %}
with

supply_demand as (
    select * from {{ ref('segment_supply_demand') }}
),

plans as (
    select * from {{ ref('segment_plan_vs_actual') }}
),

campaigns as (
    select * from {{ ref('campaign_performance') }}
),

matches as (
    select * from {{ ref('partner_segment_matches') }}
),

marketing as (
    select * from {{ ref('partner_marketing_performance') }}
),

partner_room as (
    select * from {{ ref('int_partner_free_capacity') }}
),

regions as (
    select * from {{ ref('int_regions') }}
),

lead_segments as (
    select * from {{ ref('stg_public__lead_segments') }}
),

reporting as (
    select {{ reporting_date() }} as reporting_date
),

segments as (
    select
        supply_demand.*,
        regions.province_code
    from supply_demand
    left join regions on supply_demand.region_code = regions.region_code
),

match_provinces as (
    select
        matches.segment_id,
        matches.partner_id,
        matches.branch,
        regions.province_code
    from matches
    inner join regions on matches.region_code = regions.region_code
),

-- supply_constrained ----------------------------------------------------------------------
short_segments as (
    select * from segments
    where health_class = 'supply_constrained'
),

invite_candidates as (
    select distinct
        short_segments.segment_id,
        partner_room.partner_id,
        partner_room.free_capacity
    from short_segments
    inner join match_provinces
        on
            short_segments.branch = match_provinces.branch
            and short_segments.province_code = match_provinces.province_code
            and short_segments.segment_id != match_provinces.segment_id
    inner join partner_room on match_provinces.partner_id = partner_room.partner_id
    where
        partner_room.free_capacity >= {{ var('action_min_partner_free_capacity') }}
        and not exists (
            select 1 from matches as own
            where
                own.segment_id = short_segments.segment_id
                and own.partner_id = partner_room.partner_id
        )
),

invites as (
    select
        segment_id,
        count(*) as partner_count,
        sum(free_capacity) as partners_free_capacity,
        array_to_string(
            (array_agg(partner_id order by free_capacity desc, partner_id asc))[
                1:{{ var('action_max_listed_partners') }}
            ],
            ','
        ) as partner_ids
    from invite_candidates
    group by segment_id
),

full_partners as (
    select
        short_segments.segment_id,
        count(*) as partner_count,
        array_to_string(
            (array_agg(partner_room.partner_id order by partner_room.open_leads desc, partner_room.partner_id asc))[
                1:{{ var('action_max_listed_partners') }}
            ],
            ','
        ) as partner_ids
    from short_segments
    inner join matches on short_segments.segment_id = matches.segment_id
    inner join partner_room on matches.partner_id = partner_room.partner_id
    where
        partner_room.max_open_leads > 0
        and partner_room.open_leads >= partner_room.max_open_leads
    group by short_segments.segment_id
),

supply_action_names as (
    select 'invite_partners' as action_name
    union all
    select 'raise_max_open_leads' as action_name
    union all
    select 'recruit_partners' as action_name
),

supply_actions as (
    select
        short_segments.*,
        'supply_constrained' as rule,
        candidate_action.action_name as action,
        'days_of_cover' as measure,
        short_segments.days_of_cover as measure_value,
        cast({{ var('health_min_days_of_cover') }} as numeric) as threshold_value,
        greatest(short_segments.leads_7d - short_segments.free_capacity, 0) as impact_leads_per_week,
        case candidate_action.action_name
            when 'invite_partners' then invites.partner_count
            when 'raise_max_open_leads' then full_partners.partner_count
        end as partner_count,
        case candidate_action.action_name
            when 'invite_partners' then invites.partner_ids
            when 'raise_max_open_leads' then full_partners.partner_ids
        end as partner_ids,
        case when candidate_action.action_name = 'invite_partners' then invites.partners_free_capacity end
            as partners_free_capacity,
        cast(null as numeric) as partners_budget_left,
        format(
            'Free capacity (%s open lead slots) covers %s days at %s leads/day; the minimum is %s. ',
            short_segments.free_capacity,
            round(short_segments.days_of_cover, 1),
            round(short_segments.demand_leads_per_day_7d, 1),
            {{ var('health_min_days_of_cover') }}
        )
        || case candidate_action.action_name
            when 'invite_partners'
                then format(
                        '%s partner(s) of %s elsewhere in %s have %s free slots: invite them to this segment.',
                        invites.partner_count,
                        short_segments.branch,
                        short_segments.province_code,
                        invites.partners_free_capacity
                    )
            when 'raise_max_open_leads'
                then format(
                        '%s of its %s partner(s) are full: ask them to raise max_open_leads.',
                        full_partners.partner_count,
                        short_segments.capacity_partners
                    )
            else format(
                    'No partner of %s in %s has room: recruit new partners.',
                    short_segments.branch,
                    short_segments.province_code
                )
        end as reason
    from short_segments
    left join invites on short_segments.segment_id = invites.segment_id
    left join full_partners on short_segments.segment_id = full_partners.segment_id
    cross join supply_action_names as candidate_action
    where
        (candidate_action.action_name = 'invite_partners' and invites.segment_id is not null)
        or (
            candidate_action.action_name = 'raise_max_open_leads'
            and full_partners.segment_id is not null
        )
        or (
            candidate_action.action_name = 'recruit_partners'
            and invites.segment_id is null
            and full_partners.segment_id is null
        )
),

-- demand_constrained ----------------------------------------------------------------------
idle_segments as (
    select * from segments
    where health_class = 'demand_constrained'
),

-- monthly marketing budget not yet given to active campaigns, of partners with auto marketing
marketing_budgets as (
    select
        partner_id,
        coalesce(monthly_marketing_budget, 0) - active_monthly_campaign_budget as budget_left
    from marketing
    where is_auto_marketing_enabled
),

campaign_candidates as (
    select
        idle_segments.segment_id,
        count(*) as partner_count,
        sum(budget.budget_left) as partners_budget_left,
        array_to_string(
            (array_agg(budget.partner_id order by budget.budget_left desc, budget.partner_id asc))[
                1:{{ var('action_max_listed_partners') }}
            ],
            ','
        ) as partner_ids
    from idle_segments
    inner join matches on idle_segments.segment_id = matches.segment_id
    inner join marketing_budgets as budget on matches.partner_id = budget.partner_id
    where budget.budget_left >= {{ var('action_min_marketing_budget_left') }}
    group by idle_segments.segment_id
),

demand_actions as (
    select
        idle_segments.*,
        'demand_constrained' as rule,
        case
            when campaign_candidates.segment_id is not null then 'start_campaign'
            else 'platform_campaign'
        end as action,
        case when idle_segments.leads_7d = 0 then 'leads_7d' else 'days_of_cover' end as measure,
        case
            when idle_segments.leads_7d = 0 then 0 else idle_segments.days_of_cover
        end as measure_value,
        case
            when idle_segments.leads_7d = 0 then 0
            else cast({{ var('health_max_days_of_cover') }} as numeric)
        end as threshold_value,
        greatest(idle_segments.leads_28d / 4.0 - idle_segments.leads_7d, 0) as impact_leads_per_week,
        campaign_candidates.partner_count,
        campaign_candidates.partner_ids,
        cast(null as integer) as partners_free_capacity,
        campaign_candidates.partners_budget_left,
        case
            when idle_segments.leads_7d = 0
                then format(
                        'No lead in 7 days while %s partner(s) have %s free slots. ',
                        idle_segments.capacity_partners,
                        idle_segments.free_capacity
                    )
            else format(
                    'Free capacity covers %s days (more than %s) at %s%% utilisation (below %s%%). ',
                    round(idle_segments.days_of_cover, 1),
                    {{ var('health_max_days_of_cover') }},
                    round(coalesce(idle_segments.utilization, 0) * 100),
                    round({{ var('health_max_utilization') }} * 100)
                )
        end
        || case
            when campaign_candidates.segment_id is not null
                then format(
                        '%s partner(s) with auto marketing have EUR %s of monthly budget left: start a campaign.',
                        campaign_candidates.partner_count,
                        round(campaign_candidates.partners_budget_left)
                    )
            else 'None of its partners has auto marketing with budget left: the platform buys the demand.'
        end as reason
    from idle_segments
    left join campaign_candidates on idle_segments.segment_id = campaign_candidates.segment_id
),

-- unhealthy -------------------------------------------------------------------------------
unhealthy_actions as (
    select
        segments.*,
        'unhealthy' as rule,
        'review_rejections' as action,
        'acceptance_rate_28d' as measure,
        segments.acceptance_rate_28d as measure_value,
        cast({{ var('health_min_acceptance_rate') }} as numeric) as threshold_value,
        segments.leads_rejected_28d / 4.0 as impact_leads_per_week,
        cast(null as bigint) as partner_count,
        cast(null as text) as partner_ids,
        cast(null as integer) as partners_free_capacity,
        cast(null as numeric) as partners_budget_left,
        format(
            'Partners accepted %s%% of %s decided leads in 28 days (minimum %s%%): review lead quality '
            'and matching with the partners.',
            round(segments.acceptance_rate_28d * 100),
            segments.leads_accepted_28d + segments.leads_rejected_28d,
            round({{ var('health_min_acceptance_rate') }} * 100)
        ) as reason
    from segments
    where segments.health_class = 'unhealthy'
),

-- plan_behind -----------------------------------------------------------------------------
behind_plans as (
    select
        plans.*,
        plans.period_days - plans.elapsed_days as remaining_days,
        plans.expected_to_date - plans.actual_leads as shortfall,
        cast(plans.target_leads - plans.actual_leads as numeric)
        / nullif(plans.period_days - plans.elapsed_days, 0) as leads_needed_per_day,
        row_number() over (
            partition by plans.segment_id
            order by plans.expected_to_date - plans.actual_leads desc, plans.plan_id
        ) as shortfall_rank
    from plans
    where
        plans.period_status = 'running'
        and plans.actual_leads
        < plans.expected_to_date * (1 - {{ var('action_plan_behind_tolerance') }})
),

plan_actions as (
    select
        behind_plans.segment_id,
        behind_plans.plan_id,
        behind_plans.leads_needed_per_day,
        behind_plans.leads_needed_per_day - coalesce(segments.demand_leads_per_day_7d, 0)
            as gap_leads_per_day,
        'plan_behind' as rule,
        'close_plan_gap' as action,
        'share_of_expected' as measure,
        round(behind_plans.actual_leads / nullif(behind_plans.expected_to_date, 0), 4)
            as measure_value,
        cast(1 - {{ var('action_plan_behind_tolerance') }} as numeric) as threshold_value,
        greatest(
            behind_plans.leads_needed_per_day - coalesce(segments.demand_leads_per_day_7d, 0), 0
        ) * 7 as impact_leads_per_week,
        format(
            '%s leads of %s expected by now (target %s by %s). %s leads/day are needed for the '
            'remaining %s days against %s/day now: %s more per day.',
            behind_plans.actual_leads,
            round(behind_plans.expected_to_date),
            behind_plans.target_leads,
            behind_plans.period_end_date,
            round(behind_plans.leads_needed_per_day, 1),
            behind_plans.remaining_days,
            round(coalesce(segments.demand_leads_per_day_7d, 0), 1),
            round(
                greatest(
                    behind_plans.leads_needed_per_day - coalesce(segments.demand_leads_per_day_7d, 0),
                    0
                ),
                1
            )
        ) as reason
    from behind_plans
    left join segments on behind_plans.segment_id = segments.segment_id
    where behind_plans.shortfall_rank = 1
),

-- cpl_above_target ------------------------------------------------------------------------
over_target as (
    select
        campaigns.*,
        case
            when campaigns.leads = 0 or campaigns.cpl_vs_target >= {{ var('action_cpl_pause_ratio') }}
                then 'pause_campaigns'
            else 'review_campaigns'
        end as action,
        campaigns.spend / nullif(campaigns.cpl_target, 0) - campaigns.leads as leads_short,
        greatest(
            (
                coalesce(cast(campaigns.ended_at as date), reporting.reporting_date)
                - cast(campaigns.started_at as date)
            ) / 7.0,
            1
        ) as weeks_running
    from campaigns
    cross join reporting
    where
        campaigns.status = 'active'
        and campaigns.segment_id is not null
        and campaigns.is_over_target
),

campaign_actions as (
    select
        segment_id,
        action,
        count(*) as campaign_count,
        array_to_string(
            (array_agg(campaign_id order by leads_short desc, campaign_id asc))[
                1:{{ var('action_max_listed_partners') }}
            ],
            ','
        ) as campaign_ids,
        sum(spend - cpl_target * leads) as excess_spend,
        max(cpl_vs_target) as max_cpl_vs_target,
        sum(leads_short / weeks_running) as impact_leads_per_week
    from over_target
    group by segment_id, action
),

campaign_rows as (
    select
        campaign_actions.*,
        'cpl_above_target' as rule,
        'cpl_vs_target' as measure,
        campaign_actions.max_cpl_vs_target as measure_value,
        case
            when campaign_actions.action = 'pause_campaigns'
                then cast({{ var('action_cpl_pause_ratio') }} as numeric)
            else 1
        end as threshold_value,
        format(
            '%s active campaign(s) cost EUR %s more than their CPL target allows for the leads they '
            'brought (worst: %s): %s.',
            campaign_actions.campaign_count,
            round(campaign_actions.excess_spend),
            coalesce(round(campaign_actions.max_cpl_vs_target, 2) || 'x target', 'spend without leads'),
            case
                when campaign_actions.action = 'pause_campaigns' then 'pause them'
                else 'review bids, keywords and landing pages'
            end
        ) as reason
    from campaign_actions
),

-- noqa: disable=LT02
combined as (
    -- every rule's rows, each with the columns of its kind (partners, plan or campaigns)
    {%- for rule_rows, provided in rule_row_columns.items() %}
        select
            {%- for column in common_columns %}
                {{ column }},
            {%- endfor %}
            {%- for column, data_type in kind_columns.items() %}
                {%- if column in provided %}
                    {{ column }}{{ ',' if not loop.last }}
                {%- else %}
                    cast(null as {{ data_type }}) as {{ column }}{{ ',' if not loop.last }}
                {%- endif %}
            {%- endfor %}
        from {{ rule_rows }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),
-- noqa: enable=LT02

final as (
    select
        combined.segment_id,
        lead_segments.branch,
        lead_segments.region_code,
        supply_demand.health_class,
        combined.rule,
        combined.action,
        cast(
            row_number() over (
                order by
                    combined.impact_leads_per_week desc,
                    case combined.rule
                        when 'unhealthy' then 1
                        when 'supply_constrained' then 2
                        when 'plan_behind' then 3
                        when 'cpl_above_target' then 4
                        else 5
                    end asc,
                    combined.segment_id asc,
                    combined.action asc
            ) as integer
        ) as impact_rank,
        cast(round(combined.impact_leads_per_week, 2) as numeric) as impact_leads_per_week,
        combined.reason,
        combined.measure,
        cast(combined.measure_value as numeric) as measure_value,
        cast(combined.threshold_value as numeric) as threshold_value,
        cast(combined.partner_count as integer) as partner_count,
        combined.partner_ids,
        cast(combined.partners_free_capacity as integer) as partners_free_capacity,
        cast(round(combined.partners_budget_left, 2) as numeric) as partners_budget_left,
        combined.plan_id,
        cast(round(combined.leads_needed_per_day, 2) as numeric) as leads_needed_per_day,
        cast(round(combined.gap_leads_per_day, 2) as numeric) as gap_leads_per_day,
        cast(combined.campaign_count as integer) as campaign_count,
        combined.campaign_ids,
        cast(round(combined.excess_spend, 2) as numeric) as excess_spend,
        reporting.reporting_date
    from combined
    inner join lead_segments on combined.segment_id = lead_segments.segment_id
    left join supply_demand on combined.segment_id = supply_demand.segment_id
    cross join reporting
)

select * from final
