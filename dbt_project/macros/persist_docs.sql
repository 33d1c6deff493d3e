{#-
    (issue 23) A model's docs (+persist_docs, dbt_project.yml) written in one statement.
    dbt's own postgres version sends the relation's comment, looks the relation's
    columns up twice and sends the column comments: four round trips a model, ~40% of
    a sample-size build's statements. Here one statement comments the relation and, in a
    DO block, each documented column the relation has: as dbt does, a documented
    column the relation lacks is skipped, an unquoted name is matched in lower case.
-#}
{% macro postgres__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- set statements = [] -%}
    {%- if for_relation and config.persist_relation_docs() and model.description -%}
        {%- do statements.append(alter_relation_comment(relation, model.description)) -%}
    {%- endif -%}
    {%- if for_columns and config.persist_column_docs() and model.columns -%}
        {%- do statements.append(column_comments(relation, model.columns)) -%}
    {%- endif -%}
    {%- if statements -%}
        {%- do run_query(statements | join('\n')) -%}
    {%- endif -%}
{%- endmacro %}


{% macro column_comments(relation, columns) -%}
    {%- set table = relation.include(database=false) | string -%}
    {%- set documented = [] -%}
    {%- for name, column in columns.items() -%}
        {%- set matched = name if column.quote else name | lower -%}
        {%- do documented.append(
            "('" ~ matched | replace("'", "''") ~ "', "
            ~ postgres_escape_comment(column.description or '') ~ ")"
        ) -%}
    {%- endfor -%}
do $persist_docs$
declare documented record;
begin
    for documented in
        select doc.column_name, doc.comment
        from (values {{ documented | join(', ') }}) as doc (column_name, comment)
        inner join pg_attribute as attribute
            on attribute.attname = doc.column_name
        where attribute.attrelid = '{{ table | replace("'", "''") }}'::regclass
            and attribute.attnum > 0
            and not attribute.attisdropped
    loop
        execute format(
            'comment on column %s.%I is %L',
            '{{ table | replace("'", "''") }}', documented.column_name, documented.comment
        );
    end loop;
end
$persist_docs$;
{%- endmacro %}
