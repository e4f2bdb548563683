import { useState, type ChangeEvent, type FormEvent } from 'react'
import { ErrorMessage, Progress } from '../components/Status.tsx'
import { useSession } from '../hooks/useSession.tsx'
import { DEFAULT_DEVICE, DEFAULT_SCHEME, parseCredentialsFile } from '../lib/credentials.ts'
import { Field } from '../components/Field.tsx'

/** An admin's mqtt_connection, typed in or read from admin.json; kept only if asked. */
export function SignIn({ brokerUrl: initialUrl }: { brokerUrl: string }) {
  const { state, signIn } = useSession()
  const [brokerUrl, setBrokerUrl] = useState(initialUrl)
  const [employeeId, setEmployeeId] = useState('')
  const [password, setPassword] = useState('')
  const [deviceId, setDeviceId] = useState(DEFAULT_DEVICE)
  const [scheme, setScheme] = useState(DEFAULT_SCHEME)
  const [keep, setKeep] = useState(false)
  const [fileError, setFileError] = useState<string | null>(null)
  const connecting = state.status === 'connecting'
  const error = state.status === 'signed-out' ? state.error : null

  const submit = (e: FormEvent) => {
    e.preventDefault()
    void signIn(
      {
        brokerUrl: brokerUrl.trim(),
        employeeId: employeeId.trim(),
        password,
        deviceId: deviceId.trim() || DEFAULT_DEVICE,
        clientIdScheme: scheme.trim() || DEFAULT_SCHEME,
      },
      keep,
    )
  }

  const load = async (e: ChangeEvent<HTMLInputElement>) => {
    setFileError(null)
    const file = e.target.files?.[0]
    if (!file) return
    try {
      const c = parseCredentialsFile(await file.text())
      if (c.employeeId) setEmployeeId(c.employeeId)
      if (c.password) setPassword(c.password)
      if (c.clientIdScheme) setScheme(c.clientIdScheme)
    } catch (err) {
      setFileError(`${file.name}: ${(err as Error).message}`)
    }
    e.target.value = ''
  }

  return (
    <main id="main" className="signin">
      <h1>MChat Admin</h1>
      <form onSubmit={submit} aria-labelledby="signin-title" className="form card">
        <h2 id="signin-title">Sign in</h2>
        <p className="hint">
          With an org admin's mqtt_connection: the console talks to the broker directly, like every other client.
        </p>
        <Field label="Credentials file" hint="optional: admin.json or an employee.create reply fills the fields below">
          <input type="file" accept="application/json,.json" onChange={(e) => void load(e)} />
        </Field>
        {fileError ? <ErrorMessage error={{ code: 0, message: fileError }} /> : null}
        <Field label="Broker WebSocket URL">
          <input
            value={brokerUrl}
            onChange={(e) => setBrokerUrl(e.target.value)}
            required
            type="url"
            autoComplete="url"
          />
        </Field>
        <Field label="Employee ID (MQTT username)">
          <input value={employeeId} onChange={(e) => setEmployeeId(e.target.value)} required autoComplete="username" />
        </Field>
        <Field label="MQTT password">
          <input
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            type="password"
            autoComplete="current-password"
          />
        </Field>
        <details>
          <summary>Client id</summary>
          <Field label="Device ID">
            <input value={deviceId} onChange={(e) => setDeviceId(e.target.value)} autoComplete="off" />
          </Field>
          <Field label="Client id scheme">
            <input value={scheme} onChange={(e) => setScheme(e.target.value)} autoComplete="off" />
          </Field>
        </details>
        <label className="field check">
          <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} />
          <span>Remember me on this browser (stores the password in this browser's local storage)</span>
        </label>
        {error ? <ErrorMessage error={{ code: 0, message: error }} /> : null}
        {connecting ? <Progress label="Connecting to the broker and binding the session…" /> : null}
        <button type="submit" className="primary" disabled={connecting}>
          Sign in
        </button>
      </form>
    </main>
  )
}
