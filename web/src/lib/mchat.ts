// The one place the app reaches into the repository's SDK and contracts, so every screen is
// typed by the same schema the workers enforce.
export { MChatClient, MChatError, type Presence } from '../../../sdk/index.ts'
export {
  ACTION_NAMES,
  type ActionName,
  type MqttConnection,
  type ReplyOf,
  type RequestInputOf,
} from '../../../schema/index.ts'
export { employeeCreate } from '../../../schema/actions/employee.create.ts'
export { employeeUpdates, SENSITIVE_EMPLOYEE_FIELDS } from '../../../schema/actions/employee.update.ts'
