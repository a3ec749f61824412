// Loaded with `node --import` by the durable tests' child processes: it lets Node run this package's TypeScript
// sources as they are. Node >= 22.18 strips the types itself; what it does not do is map the `.js` specifiers of
// the sources (`./Batch.js`, TypeScript's NodeNext style) to the `.ts` files beside them. This hook does, for
// relative specifiers only, when the `.js` file does not exist. No bundle and no loader package: a child starts in
// the time Node takes to load the modules it imports.
import { registerHooks } from "node:module"

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context)
    } catch (error) {
      if (specifier.startsWith(".") && specifier.endsWith(".js")) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context)
      }
      throw error
    }
  }
})
