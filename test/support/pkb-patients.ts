/** Test patients of the PKB stand-in (fake people; valid Modulus 11 NHS numbers). */
export const ANN = {
  id: "pkb-ann",
  firstName: "Ann",
  lastName: "Example",
  dob: "1950-01-31",
  gender: "F",
  nhsNumber: "9434765919",
};

/** Another person with a PKB account (the wrong record for the hub's patient p1). */
export const BOB = {
  id: "pkb-bob",
  firstName: "Bob",
  lastName: "Other",
  dob: "1960-02-02",
  gender: "M",
  nhsNumber: "9434765870",
};
