{#-
    profiles.regions as text[], whatever production's type is: text[] as is, comma-separated
    text split on commas. The type is read from the database when the model is compiled, so
    both variants of the column give the same result. Elements are not normalised here
    (normalize_key does that where they are matched).
-#}
{% macro profile_regions_array(column_name) -%}
    {%- set found_types = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(source('public', 'profiles')) -%}
            {%- if column.name == column_name -%}
                {%- do found_types.append(column.data_type | lower) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if found_types and found_types[0] in ('text', 'character varying') -%}
        string_to_array({{ column_name }}, ',')
    {%- else -%}
        {{ column_name }}::text []
    {%- endif -%}
{%- endmacro %}
