{#- Generic test: a row has either a segment_id or an unmatched_reason, never both or neither. -#}
{% test matched_xor_reason(model) %}
    select *
    from {{ model }}
    where (segment_id is null) = (unmatched_reason is null)
{% endtest %}
