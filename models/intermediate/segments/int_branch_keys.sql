-- Every normalised branch spelling -> its branch slug.
with branch_aliases as (
    select * from {{ ref('branch_aliases') }}
),

spellings as (
    select
        {{ normalize_key('alias') }} as branch_key,
        branch
    from branch_aliases

    union

    select
        {{ normalize_key('branch') }} as branch_key,
        branch
    from branch_aliases
),

final as (
    select distinct on (branch_key)
        branch_key,
        branch
    from spellings
    where branch_key is not null
    order by branch_key asc, branch asc
)

select * from final
