import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { call, type JsonResponse, postImage, postJson } from '../../common/http/call.ts'
import { sampleImages } from '../../common/sample-images.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'

type OpenApi = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >
}

/** Checks real answers against the OpenAPI document a service publishes, one schema per path, method and status. */
class ContractChecker {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true })
  readonly doc: OpenApi

  constructor(doc: OpenApi) {
    this.doc = doc
    this.#ajv.addSchema(doc as object, 'openapi')
  }

  check(method: string, path: string, response: JsonResponse): void {
    const operation = this.doc.paths[path]?.[method.toLowerCase()]
    assert.ok(operation, `${method} ${path} is documented`)
    const documented = operation.responses[String(response.status)]
    assert.ok(
      documented,
      `${method} ${path} documents status ${response.status} (has ${Object.keys(operation.responses)})`,
    )
    const schema = documented.content?.['application/json']?.schema
    assert.ok(schema, `${method} ${path} ${response.status} has a JSON schema`)
    const pointer = [
      'paths',
      path,
      method.toLowerCase(),
      'responses',
      String(response.status),
      'content',
      'application/json',
      'schema',
    ]
      .map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1'))
      .join('/')
    const validate = this.#ajv.getSchema(`openapi#/${pointer}`)!
    assert.ok(validate(response.body), `${method} ${path} ${response.status}: ${this.#ajv.errorsText(validate.errors)}`)
  }

  /** Every `examples` value written in a schema must satisfy that schema. */
  checkExamples(): number {
    let checked = 0
    const visit = (node: unknown, pointer: string): void => {
      if (typeof node !== 'object' || node === null) return
      const record = node as Record<string, unknown>
      if (Array.isArray(record.examples) && 'type' in record) {
        const validate = this.#ajv.getSchema(`openapi#${pointer}`)!
        for (const example of record.examples) {
          assert.ok(
            validate(example),
            `example ${JSON.stringify(example)} at ${pointer}: ${this.#ajv.errorsText(validate.errors)}`,
          )
          checked++
        }
      }
      for (const [key, value] of Object.entries(record))
        visit(value, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    }
    visit(this.doc, '')
    return checked
  }
}

async function documentedRoutes(base: string): Promise<ContractChecker> {
  const response = await call(`${base}/openapi.json`)
  assert.equal(response.status, 200)
  assert.match(response.body.openapi, /^3\./)
  const docs = await call(`${base}/docs/`)
  assert.equal(docs.status, 200)
  assert.match(String(docs.body), /swagger-ui/i)
  return new ContractChecker(response.body)
}

describe('OpenAPI: every route documented, real answers match their documented schemas', () => {
  let gateway: RunningGateway
  const image = sampleImages()[0]!.bytes()

  before(async () => {
    gateway = await startTestGateway(['--discovery', 'local', '--local-replicas', '1', '--autoscaler', 'none'])
    await routable(gateway, 1)
  })
  after(() => gateway.shutdown(10_000))

  test('gateway: the document lists every declared route, and each answer validates', async () => {
    const contract = await documentedRoutes(gateway.url)
    const routes = gateway.app.declaredRoutes.filter((route) => !route.hidden && route.method !== 'HEAD')
    for (const route of routes) {
      assert.ok(
        contract.doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()],
        `${route.method} ${route.url} is documented`,
      )
    }
    assert.deepEqual(routes.map((route) => `${route.method} ${route.url}`).sort(), [
      'DELETE /batch/:id',
      'GET /autoscale',
      'GET /batch',
      'GET /batch/:id',
      'GET /datasets',
      'GET /healthz',
      'GET /live',
      'GET /metrics',
      'GET /models',
      'GET /queue',
      'GET /readyz',
      'GET /replicas',
      'POST /add_to_queue',
      'POST /batch',
      'POST /predict',
    ])
    for (const path of ['/queue', '/replicas', '/models', '/live', '/healthz', '/readyz', '/autoscale']) {
      contract.check('GET', path, await call(`${gateway.url}${path}`))
    }
    contract.check('POST', '/predict', await postImage(`${gateway.url}/predict`, image))
    contract.check('POST', '/add_to_queue', await postImage(`${gateway.url}/add_to_queue`, image))
    contract.check('POST', '/predict', await postImage(`${gateway.url}/predict?model=nope`, image))
    contract.check('POST', '/predict', await postImage(`${gateway.url}/predict`, Buffer.from('not an image')))
    contract.check('POST', '/predict', await postImage(`${gateway.url}/predict`, image, { 'x-timeout-ms': '0' }))
    const batch = await postJson(`${gateway.url}/batch`, {
      model: 'darknet-tiny',
      dataset: 'imagenet-sample',
      limit: 2,
    })
    contract.check('POST', '/batch', batch)
    contract.check('POST', '/batch', await postJson(`${gateway.url}/batch`, { model: 'darknet-tiny', dataset: 'nope' }))
    await gateway.batch.wait(batch.body.id)
    contract.check('GET', '/batch/{id}', await call(`${gateway.url}/batch/${batch.body.id}`))
    contract.check('GET', '/batch', await call(`${gateway.url}/batch`))
    contract.check('GET', '/datasets', await call(`${gateway.url}/datasets`))
    contract.check('DELETE', '/batch/{id}', await call(`${gateway.url}/batch/${batch.body.id}`, { method: 'DELETE' }))
    assert.ok(contract.checkExamples() >= 1)
  })

  test('replica: the document lists every declared route, and each answer validates', async () => {
    const replica = gateway.pool.all[0]!.url
    const contract = await documentedRoutes(replica)
    for (const path of ['/healthz', '/readyz', '/models']) contract.check('GET', path, await call(`${replica}${path}`))
    contract.check('POST', '/predict', await postImage(`${replica}/predict`, image))
    contract.check('POST', '/predict', await postImage(`${replica}/predict?model=darknet-tiny`, image))
    contract.check('POST', '/predict', await postImage(`${replica}/predict?model=nope`, image))
    contract.check('POST', '/predict', await postImage(`${replica}/predict`, Buffer.from('not an image')))
    contract.check('POST', '/predict', await postImage(`${replica}/predict`, Buffer.alloc(0)))
    const paths = Object.keys(contract.doc.paths)
    assert.deepEqual(paths.sort(), ['/healthz', '/metrics', '/models', '/predict', '/readyz'])
  })
})
