export * from './broker.ts'
export * from './agents.ts'
export * from './codes.ts'
export * from './content.ts'
export * from './envelope.ts'
export * from './storable.ts'
export * from './ids.ts'
export * from './notices.ts'
export * from './object-keys.ts'
export * from './presence.ts'
export * from './relay-token.ts'
export * from './topics.ts'
export * from './worker-answer.ts'
export * from './actions/index.ts'
export type { ActionContract, RateLimitClass } from './actions/define.ts'
export { agentCapabilityList, agentProfileSummary } from './actions/agent.capability_list.ts'
export { AUDIT_PAGE_MAX, auditEntry, auditQuery } from './actions/audit.query.ts'
export { authBind } from './actions/auth.bind.ts'
export { authChallenge, challengeFields } from './actions/auth.challenge.ts'
export { configStorage, SIGV4_MAX_EXPIRES_SECONDS, storageExpiresIn } from './actions/config.storage.ts'
export { fileDownloadUrl } from './actions/file.download_url.ts'
export { contentType, fileUploadUrl } from './actions/file.upload_url.ts'
export { departmentCreate, departmentFields } from './actions/department.create.ts'
export { departmentDelete } from './actions/department.delete.ts'
export { departmentUpdate } from './actions/department.update.ts'
export {
  employeeCreate,
  employeeFields,
  employeeRole,
  employeeStatus,
  mqttConnection,
  type MqttConnection,
} from './actions/employee.create.ts'
export {
  employeeUpdate,
  employeeUpdates,
  profileChange,
  SENSITIVE_EMPLOYEE_FIELDS,
  type ProfileChange,
} from './actions/employee.update.ts'
export { GROUP_MAX_MEMBERS, groupCreate, memberIds } from './actions/group.create.ts'
export { groupDismiss } from './actions/group.dismiss.ts'
export { groupList, groupRole } from './actions/group.list.ts'
export { GROUP_MEMBERS_PAGE_MAX, groupMembers } from './actions/group.members.ts'
export { systemBroadcast } from './actions/system.broadcast.ts'
export { groupMemberAdd } from './actions/group.member_add.ts'
export { groupMemberRemove } from './actions/group.member_remove.ts'
export { msgReadAck, readReceipt, type ReadReceipt } from './actions/msg.read_ack.ts'
export { groupMessage, msgSendGroup, type GroupMessage } from './actions/msg.send_group.ts'
export { msgSendPrivate, privateMessage, type PrivateMessage } from './actions/msg.send_private.ts'
export { orgTree, orgDepartment, orgEmployee } from './actions/org.tree.ts'
