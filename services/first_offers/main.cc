#include "services/first_offers/app.h"

int main(int argc, char** argv) { return sales::first_offers::RunService(argc, argv); }
