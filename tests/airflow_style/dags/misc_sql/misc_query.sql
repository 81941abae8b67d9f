select * from events
where run_id = '{{ run_id }}'
    and source = '{{ params.source }}'
