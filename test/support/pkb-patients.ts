/** Test patients of the PKB stand-in (fake people; valid Modulus 11 NHS numbers). */
export const ANN = {
  id: "pkb-ann",
  firstName: "Ann",
  lastName: "Example",
  dob: "1950-01-31",
  gender: "F",
  nhsNumber: "9434765919",
};
