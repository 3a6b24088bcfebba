import { strictMock } from './strict-mock';

interface Store {
  ready: boolean;
  read(id: string): string;
  write(id: string, value: string): void;
}

describe('strictMock (test helper)', () => {
  it('answers the members it was given', () => {
    const store = strictMock<Store>('Store', {
      ready: true,
      read: jest.fn((id: string) => `value of ${id}`),
    });
    expect(store.ready).toBe(true);
    expect(store.read('a')).toBe('value of a');
    expect(store.read).toHaveBeenCalledWith('a');
  });

  it('fails on a member it was not given, naming it', () => {
    const store = strictMock<Store>('Store', { read: jest.fn() });
    expect(() => store.write('a', 'b')).toThrow('unexpected use of Store.write');
    expect(() => store.ready).toThrow('unexpected use of Store.ready');
  });

  it('refuses writes, and is neither a promise nor a matcher to the tools that inspect it', async () => {
    const store = strictMock<Store>('Store', { ready: false });
    expect(() => {
      store.ready = true;
    }).toThrow('unexpected write of Store.ready');
    await expect(Promise.resolve(store)).resolves.toBe(store);
  });
});
