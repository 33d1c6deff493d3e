{#
    (issue 23) The relation has exactly the columns of `other`: same names,
    same order, same declared types (format_type: numeric(16,2) is not
    numeric). Each windowed mart's `__history` view must give back the rows
    of its `__recent` table; a column added to the mart and not to its
    change history fails here (on_schema_change alone would not notice).
#}
{% test same_columns_as(model, other) %}

with

columns_of as (

    select
        attribute.attrelid,
        row_number() over (partition by attribute.attrelid order by attribute.attnum) as position,
        attribute.attname as column_name,
        format_type(attribute.atttypid, attribute.atttypmod) as data_type

    from pg_attribute as attribute
    where attribute.attrelid in (
        to_regclass('{{ model }}'), to_regclass('{{ other }}')
    )
        and attribute.attnum > 0
        and not attribute.attisdropped

),

this_relation as (

    select position, column_name, data_type
    from columns_of
    where attrelid = to_regclass('{{ model }}')

),

other_relation as (

    select position, column_name, data_type
    from columns_of
    where attrelid = to_regclass('{{ other }}')

)

select
    coalesce(this_relation.position, other_relation.position) as position,
    this_relation.column_name || ' ' || this_relation.data_type as in_relation,
    other_relation.column_name || ' ' || other_relation.data_type as in_other
from this_relation
full join other_relation
    on this_relation.position = other_relation.position
where this_relation.column_name is distinct from other_relation.column_name
    or this_relation.data_type is distinct from other_relation.data_type
    or to_regclass('{{ model }}') is null

{% endtest %}
