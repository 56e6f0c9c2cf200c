#include "services/reporting/app.h"

int main(int argc, char** argv) { return sales::reporting::RunService(argc, argv); }
