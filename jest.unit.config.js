/**
 * The unit tier (`npm run test:unit`): the specs beside the code in apps/ and libs/, and the test helpers' own
 * specs. None needs a database, a binary or the build, so the PostgreSQL probe and the contract summary of the
 * full run (jest.config.js) are left out. `npm test` still runs these with everything else.
 */
const config = { ...require('./jest.config') };
delete config.globalSetup;
delete config.globalTeardown;

module.exports = {
  ...config,
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test/support'],
};
