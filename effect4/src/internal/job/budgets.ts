/**
 * A job's budgets read per model: the budget of a model, its usable share (`limit × safetyFactor`), and why a
 * budget cannot work.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"
import type * as JobBudget from "../../JobBudget.js"

/** Whether a budgets value is one budget for every model. @internal */
export const isBudget = (value: unknown): value is JobBudget.Budget =>
  Predicate.isObject(value) &&
  Object.keys(value).every((key) => key === "tokens" || key === "requests") &&
  (value["tokens"] === undefined || typeof value["tokens"] === "number") &&
  (value["requests"] === undefined || typeof value["requests"] === "number")

/** The budget of `model` under `budgets` (no limit when none is given). @internal */
export const budgetOf = (budgets: JobBudget.Budgets | undefined, model: string): JobBudget.Budget => {
  if (budgets === undefined) return {}
  if (typeof budgets === "function") return budgets(model)
  if (isBudget(budgets)) return budgets
  return budgets[model] ?? budgets["*"] ?? {}
}

/**
 * Whether per-model `budgets` leave `model` out: a record that names neither it nor `"*"`. Its parts are then
 * admitted with no limit, most often because of a typo in a model's name.
 *
 * @internal
 */
export const leavesOut = (budgets: JobBudget.Budgets | undefined, model: string): boolean =>
  budgets !== undefined && typeof budgets !== "function" && !isBudget(budgets) && budgets[model] === undefined &&
  budgets["*"] === undefined

/** The usable share of a limit: `limit × safetyFactor`, rounded down; `Infinity` for no limit. @internal */
export const usable = (limit: number | undefined, safetyFactor: number): number =>
  limit === undefined ? Infinity : Math.floor(limit * safetyFactor)

/** The usable ceilings of `model` under `budgets`. @internal */
export const ceilingOf = (budgets: JobBudget.Budgets | undefined, safetyFactor: number, model: string) => {
  const budget = budgetOf(budgets, model)
  return { tokens: usable(budget.tokens, safetyFactor), requests: usable(budget.requests, safetyFactor) }
}

/** Why a safety factor cannot work, or `undefined`: it must be in (0, 1]. @internal */
export const safetyFactorIssue = (safetyFactor: number): string | undefined =>
  safetyFactor > 0 && safetyFactor <= 1 ? undefined : "must be in (0, 1]"

/** Why a budget cannot work, or `undefined`: limits must be positive whole numbers that leave room for something. @internal */
export const budgetIssue = (budget: JobBudget.Budget, safetyFactor: number): string | undefined => {
  for (const [name, limit] of [["tokens", budget.tokens], ["requests", budget.requests]] as const) {
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
      return `${name} must be a positive whole number`
    }
    if (limit !== undefined && usable(limit, safetyFactor) < 1) {
      return `${name} times the safety factor leaves room for nothing`
    }
  }
  return undefined
}
