/**
 * What a strict mock may answer: jest.fn()s for the methods a test expects (their return type checked, their
 * parameters left to the test), plain values for the properties.
 */
export type MockMembers<T> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [K in keyof T]?: T[K] extends (...args: any[]) => infer R ? jest.Mock<R, any> : T[K];
};

// Asked of any object by the runtime or the tools, not by the code under test: `await` looks for `then`, Nest
// for lifecycle hooks, Jest's matchers and printer for these. Answered "absent" instead of failing the test.
const INSPECTED = new Set([
  'then',
  'asymmetricMatch',
  'nodeType',
  'toJSON',
  '$$typeof',
  '@@__IMMUTABLE_ITERABLE__@@',
  '@@__IMMUTABLE_RECORD__@@',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/**
 * A stand-in for `name` that has only the given members: reading any other member (so calling any method the
 * test did not expect) throws an error naming it, instead of returning undefined and letting the code under
 * test carry on with it. Methods the test provides are its own jest.fn()s, so it states every answer and can
 * assert every call.
 */
export function strictMock<T extends object>(name: string, members: MockMembers<T>): jest.Mocked<T> {
  return new Proxy(members as object, {
    get(target, key, receiver) {
      if (Reflect.has(target, key)) return Reflect.get(target, key, receiver) as unknown;
      if (typeof key === 'symbol' || INSPECTED.has(key)) return undefined;
      throw new Error(`unexpected use of ${name}.${key}: the test did not provide it`);
    },
    set(_target, key) {
      throw new Error(`unexpected write of ${name}.${String(key)}`);
    },
  }) as jest.Mocked<T>;
}
