"""`leadgen check --security`: the existing platform's exposures that affect phase 2, reported in the
form of Supabase's database linter (supabase/splinter: name, level, detail) with the SQL that fixes
each. Reported, never changed: the platform is not ours (DESIGN.md); the phase-2 migrations close
only what anon plainly has no business with.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

# Columns whose value grants rights or decides routing: a policy that lets a user write them
# without a guard lets a partner promote itself.
RIGHTS_COLUMNS = ("is_admin", "routing_priority")
API_ROLES = ("anon", "authenticated")


@dataclass(frozen=True)
class Finding:
    name: str  # splinter's lint name where one exists
    level: str  # ERROR | WARN
    detail: str
    fix: str

    def line(self) -> str:
        return f"{self.level} {self.name}: {self.detail}; fix: {self.fix}"


def _anon_executable_definer_functions(conn: psycopg.Connection) -> list[Finding]:
    rows = conn.execute(
        """
        select format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
        from pg_catalog.pg_proc as p
        inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
        where n.nspname = 'public' and p.prosecdef and has_function_privilege('anon', p.oid, 'execute')
        order by 1
        """,
        (),
    ).fetchall()
    return [
        Finding("anon_security_definer_function_executable", "WARN",
                f"function {sig} runs with its owner's rights and anon can execute it",
                f"revoke execute on function {sig} from public, anon;")
        for (sig,) in rows
    ]


def _owner_rights_relations(conn: psycopg.Connection) -> list[Finding]:
    rows = conn.execute(
        """
        select format('%%I.%%I', n.nspname, c.relname), c.relkind,
            string_agg(r.rolname, ', ' order by r.rolname)
        from pg_catalog.pg_class as c
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
        cross join (select unnest(%s::text[]) as rolname) as r
        where n.nspname = 'public' and c.relkind in ('v', 'm')
            and has_table_privilege(r.rolname, c.oid, 'select')
            and not coalesce(lower(c.reloptions::text)::text[] && array['security_invoker=on',
                'security_invoker=true', 'security_invoker=1', 'security_invoker=yes'], false)
        group by n.nspname, c.relname, c.relkind
        order by 1
        """,
        (list(API_ROLES),),
    ).fetchall()
    findings = []
    for name, kind, roles in rows:
        if kind == "v":
            findings.append(Finding(
                "security_definer_view", "ERROR",
                f"view {name} reads its tables with its owner's rights (no security_invoker) "
                f"and {roles} can select it",
                f"alter view {name} set (security_invoker = true); "
                f"-- or: revoke select on {name} from {roles};",
            ))
        else:
            findings.append(Finding(
                "materialized_view_in_api", "WARN",
                f"materialized view {name} has no row level security and {roles} can select it",
                f"revoke select on {name} from {roles};",
            ))
    return findings


def _rls_disabled(conn: psycopg.Connection) -> list[Finding]:
    rows = conn.execute(
        """
        select format('%I.%I', n.nspname, c.relname)
        from pg_catalog.pg_class as c
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity
            and (has_table_privilege('anon', c.oid, 'select')
                or has_table_privilege('authenticated', c.oid, 'select'))
        order by 1
        """
    ).fetchall()
    return [
        Finding("rls_disabled_in_public", "ERROR",
                f"table {name} is readable over the API without row level security",
                f"alter table {name} enable row level security; -- then add policies")
        for (name,) in rows
    ]


def _policies_writing_rights_columns(conn: psycopg.Connection) -> list[Finding]:
    rows = conn.execute(
        """
        select format('%%I.%%I', n.nspname, c.relname), pol.polname, a.attname
        from pg_catalog.pg_policy as pol
        inner join pg_catalog.pg_class as c on pol.polrelid = c.oid
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
        inner join pg_catalog.pg_attribute as a
            on a.attrelid = c.oid and a.attname = any(%s) and not a.attisdropped
        where n.nspname = 'public' and pol.polcmd in ('w', '*', 'a')
            and (0 = any(pol.polroles) or exists (
                select 1 from pg_catalog.pg_roles as r
                where r.oid = any(pol.polroles) and r.rolname = any(%s)))
            and has_column_privilege('authenticated', c.oid, a.attname, 'update')
            and not exists (
                select 1 from pg_catalog.pg_trigger as t
                where t.tgrelid = c.oid and not t.tgisinternal and t.tgname like '%%guard%%'
            )
        order by 1, 2, 3
        """,
        (list(RIGHTS_COLUMNS), list(API_ROLES)),
    ).fetchall()
    return [
        Finding("policy_allows_rights_column_write", "ERROR",
                f"policy {policy} on {table} lets a user write {column} of its own row (it grants rights)",
                f"revoke update ({column}) on {table} from authenticated; -- or the phase-2 guard migration")
        for table, policy, column in rows
    ]


def _default_privileges_to_anon(conn: psycopg.Connection) -> list[Finding]:
    rows = conn.execute(
        """
        select pg_get_userbyid(d.defaclrole), coalesce(n.nspname, ''), d.defaclobjtype
        from pg_catalog.pg_default_acl as d
        left join pg_catalog.pg_namespace as n on d.defaclnamespace = n.oid
        where exists (select 1 from aclexplode(d.defaclacl) as x where x.grantee = 'anon'::regrole)
            and coalesce(n.nspname, 'public') = 'public'
        order by 1, 2, 3
        """
    ).fetchall()
    kinds = {"r": "tables", "S": "sequences", "f": "functions"}
    findings = []
    for owner, schema, kind in rows:
        objects = kinds.get(kind, kind)
        scope = f" in schema {schema}" if schema else ""
        findings.append(Finding(
            "default_privileges_open_to_anon", "WARN",
            f"new {objects} that {owner} creates{scope} are granted to anon by default",
            f"alter default privileges for role {owner}{scope} revoke all on {objects} from anon;",
        ))
    return findings


def security_findings(conn: psycopg.Connection) -> list[Finding]:
    """Every finding, most severe first (none where Supabase's API roles do not exist)."""
    row = conn.execute("select count(*) from pg_catalog.pg_roles where rolname = any(%s)", (list(API_ROLES),))
    if (row.fetchone() or (0,))[0] < len(API_ROLES):
        return []
    findings = [
        *_policies_writing_rights_columns(conn),
        *_rls_disabled(conn),
        *_owner_rights_relations(conn),
        *_anon_executable_definer_functions(conn),
        *_default_privileges_to_anon(conn),
    ]
    return sorted(findings, key=lambda f: f.level != "ERROR")
