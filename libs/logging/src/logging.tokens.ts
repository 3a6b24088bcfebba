/** Injection token of this app's RootLogger (the pino instance and its files). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
