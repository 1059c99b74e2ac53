/** @param {string} name */
export const greeting = (name) => `Hello, ${name}!`;
