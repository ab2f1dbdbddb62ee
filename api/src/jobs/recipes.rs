//! Recipes: the jobs of a recipe type (`job_types/recipe.rs`) created together, each waiting on its
//! parents with `after`, and found again by their labels.

/// The label every job of a recipe carries: the recipe's id.
pub const RECIPE_LABEL: &str = "recipe";
/// The label naming a recipe job's node within its recipe (`kml`).
pub const RECIPE_JOB_LABEL: &str = "recipe.job";
/// The label holding the id of the recipe type the recipe was made from.
pub const RECIPE_TYPE_LABEL: &str = "recipe.type";
