/**
 * Whether department $2 is department $1 or lies below it: moving $1 under $2 (or its members
 * into $2 when $1 goes) would then make a cycle.
 */
export const WITHIN_SUBTREE_SQL = `EXISTS (
    WITH RECURSIVE sub AS (
      SELECT department_id FROM department WHERE department_id = $1
      UNION SELECT d.department_id FROM department d JOIN sub ON d.parent_id = sub.department_id)
    SELECT 1 FROM sub WHERE department_id = $2)`
