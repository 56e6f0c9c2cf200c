#include "services/client_support/app.h"

int main(int argc, char** argv) { return sales::client_support::RunService(argc, argv); }
